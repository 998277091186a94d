package io.perceive.sandbox;

import io.perceive.schemas.DecodeResult;
import io.perceive.schemas.EventCodec;
import io.perceive.schemas.UserEvent;
import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * Reads events from a JSON-lines file (one event in its JSON form per line; blank lines and lines
 * starting with {@code #} are skipped), decoding and validating each with an {@link EventCodec}.
 */
public final class JsonLinesSource implements Iterator<UserEvent>, Closeable {
  /** A line that is not a valid event, with its 1-based line number. */
  public static final class InvalidLineException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final Path file;
    private final long lineNumber;

    InvalidLineException(Path file, long lineNumber, String message) {
      super(file + ":" + lineNumber + ": " + message);
      this.file = file;
      this.lineNumber = lineNumber;
    }

    public Path file() {
      return file;
    }

    public long lineNumber() {
      return lineNumber;
    }
  }

  private final Path file;
  private final EventCodec codec;
  private final BufferedReader reader;
  private long lineNumber;
  private UserEvent next;

  public JsonLinesSource(Path file, EventCodec codec) throws IOException {
    this.file = file;
    this.codec = codec;
    this.reader = Files.newBufferedReader(file, StandardCharsets.UTF_8);
  }

  /**
   * Reads the whole file once and returns the number of events, or throws {@link
   * InvalidLineException} at the first invalid line: lets a producer refuse a file before sending
   * any of it.
   */
  public static long check(Path file, EventCodec codec) throws IOException {
    long count = 0;
    try (JsonLinesSource source = new JsonLinesSource(file, codec)) {
      while (source.hasNext()) {
        source.next();
        count++;
      }
    }
    return count;
  }

  @Override
  public boolean hasNext() {
    if (next != null) {
      return true;
    }
    try {
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        lineNumber++;
        String trimmed = line.strip();
        if (trimmed.isEmpty() || trimmed.startsWith("#")) {
          continue;
        }
        DecodeResult result = codec.decodeJson(trimmed);
        if (!result.isValid()) {
          throw new InvalidLineException(file, lineNumber, result.rejection().toString());
        }
        next = result.event();
        return true;
      }
      return false;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }

  @Override
  public UserEvent next() {
    if (!hasNext()) {
      throw new NoSuchElementException();
    }
    UserEvent event = next;
    next = null;
    return event;
  }

  /** 1-based number of the last line read. */
  public long lineNumber() {
    return lineNumber;
  }

  @Override
  public void close() throws IOException {
    reader.close();
  }
}
