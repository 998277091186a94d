package io.perceive.cli;

/** Bad command-line arguments: reported with the command's usage, exit code 2. */
public final class UsageException extends Exception {
  private static final long serialVersionUID = 1L;

  public UsageException(String message) {
    super(message);
  }
}
