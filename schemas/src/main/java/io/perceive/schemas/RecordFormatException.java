package io.perceive.schemas;

/** Bytes or JSON that do not decode into a record, with the rejection reason they map to. */
public final class RecordFormatException extends Exception {
  private static final long serialVersionUID = 1L;
  private final RejectionReason reason;

  public RecordFormatException(RejectionReason reason, String message) {
    super(message);
    this.reason = reason;
  }

  public RejectionReason reason() {
    return reason;
  }
}
