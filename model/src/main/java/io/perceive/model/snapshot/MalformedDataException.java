package io.perceive.model.snapshot;

import java.io.IOException;

/**
 * A persisted snapshot or delta that cannot be read: bad magic, an unknown format version, a
 * truncated file, a checksum mismatch or an impossible value. The message says which.
 */
public class MalformedDataException extends IOException {

  public MalformedDataException(String message) {
    super(message);
  }

  public MalformedDataException(String message, Throwable cause) {
    super(message, cause);
  }
}
