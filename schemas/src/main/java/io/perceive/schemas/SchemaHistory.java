package io.perceive.schemas;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;

/**
 * Earlier versions of the project's schemas, shipped as resources under {@code
 * io/perceive/schemas/history/} and listed in its {@code index.txt}, so data their writers produced
 * stays readable (see "Evolution rules" in docs/events.md).
 */
public final class SchemaHistory {
  private static final String DIR = "/io/perceive/schemas/history/";

  private SchemaHistory() {}

  /**
   * Older schemas of the record named {@code recordName} (files named {@code <name>-v<N>.avsc}).
   */
  public static List<Schema> olderSchemas(String recordName) {
    List<Schema> schemas = new ArrayList<>();
    for (String file : index()) {
      if (file.startsWith(recordName + "-v")) {
        schemas.add(load(file));
      }
    }
    return schemas;
  }

  /** Parses one history file, e.g. {@code UserEvent-v1.avsc}. */
  public static Schema load(String file) {
    try (InputStream in = SchemaHistory.class.getResourceAsStream(DIR + file)) {
      if (in == null) {
        throw new IllegalStateException("schema history file missing from the classpath: " + file);
      }
      return new Schema.Parser().parse(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static List<String> index() {
    List<String> files = new ArrayList<>();
    try (InputStream in = SchemaHistory.class.getResourceAsStream(DIR + "index.txt")) {
      if (in == null) {
        return files;
      }
      BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
      for (String line = reader.readLine(); line != null; line = reader.readLine()) {
        if (!line.isBlank() && !line.startsWith("#")) {
          files.add(line.trim());
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return files;
  }
}
