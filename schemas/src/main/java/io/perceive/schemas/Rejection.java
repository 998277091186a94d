package io.perceive.schemas;

import java.util.Objects;

/**
 * A typed refusal of one record: the reason, a human-readable detail, and the original bytes so the
 * record can be dead-lettered unchanged.
 */
public record Rejection(RejectionReason reason, String detail, byte[] originalBytes) {
  public Rejection {
    Objects.requireNonNull(reason, "reason");
    detail = detail == null ? "" : detail;
    originalBytes = originalBytes == null ? new byte[0] : originalBytes;
  }

  @Override
  public String toString() {
    return reason + ": " + detail;
  }
}
