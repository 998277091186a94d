package io.perceive.sandbox.world;

import io.perceive.schemas.TruthRecord;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.avro.file.CodecFactory;
import org.apache.avro.file.DataFileReader;
import org.apache.avro.file.DataFileWriter;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;

/**
 * The world's truth on disk: an Avro container file of {@link TruthRecord}s (schema embedded,
 * deflate-compressed) with a format version in its metadata. The evaluation reads it; the job never
 * sees it.
 */
public final class TruthFile {
  /** Metadata key holding {@link #FORMAT_VERSION}. */
  public static final String FORMAT_KEY = "perceive.truth.format";

  /** Current format version; readers refuse any other. */
  public static final long FORMAT_VERSION = 1;

  private TruthFile() {}

  /** A writer that appends truth records to a new file at {@code path} (replaced if present). */
  public static Writer create(Path path) throws IOException {
    Path parent = path.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    DataFileWriter<TruthRecord> writer =
        new DataFileWriter<>(new SpecificDatumWriter<>(TruthRecord.class));
    writer.setCodec(CodecFactory.deflateCodec(1));
    writer.setMeta(FORMAT_KEY, FORMAT_VERSION);
    writer.create(TruthRecord.getClassSchema(), path.toFile());
    return new Writer(writer);
  }

  /** Reads every record of a truth file into a table keyed by impression event id. */
  public static TruthTable read(Path path) throws IOException {
    TruthTable table = new TruthTable();
    try (DataFileReader<TruthRecord> reader =
        new DataFileReader<>(path.toFile(), new SpecificDatumReader<>(TruthRecord.class))) {
      byte[] version = reader.getMeta(FORMAT_KEY);
      long found =
          version == null
              ? -1
              : Long.parseLong(new String(version, java.nio.charset.StandardCharsets.UTF_8));
      if (found != FORMAT_VERSION) {
        throw new IOException(
            path
                + " is truth format "
                + (found < 0 ? "unknown (no " + FORMAT_KEY + ")" : found)
                + ", this reader supports "
                + FORMAT_VERSION);
      }
      TruthRecord reuse = null;
      while (reader.hasNext()) {
        reuse = reader.next(null);
        table.put(reuse);
      }
    }
    return table;
  }

  /** Appends truth records; a {@link java.util.function.Consumer} for {@link World#events}. */
  public static final class Writer implements Closeable, java.util.function.Consumer<TruthRecord> {
    private final DataFileWriter<TruthRecord> writer;
    private long count;

    private Writer(DataFileWriter<TruthRecord> writer) {
      this.writer = writer;
    }

    @Override
    public void accept(TruthRecord record) {
      try {
        writer.append(record);
        count++;
      } catch (IOException e) {
        throw new java.io.UncheckedIOException("cannot write truth record", e);
      }
    }

    public long count() {
      return count;
    }

    @Override
    public void close() throws IOException {
      writer.close();
    }
  }
}
