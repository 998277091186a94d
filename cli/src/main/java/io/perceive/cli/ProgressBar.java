package io.perceive.cli;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A one-line progress display with events/s: redrawn in place on a terminal, printed as a plain
 * line every few seconds otherwise (logs, CI).
 */
final class ProgressBar {
  private static final int WIDTH = 30;
  private final PrintStream err;
  private final long total; // <= 0: unknown
  private final boolean interactive;
  private long lastLineNanos;

  ProgressBar(PrintStream err, long total) {
    this.err = err;
    this.total = total;
    this.interactive = System.console() != null && err == System.err;
  }

  void update(long done, double perSecond) {
    String text = render(done, perSecond);
    if (interactive) {
      err.print("\r" + text);
      err.flush();
    } else if (System.nanoTime() - lastLineNanos > 5_000_000_000L || (total > 0 && done >= total)) {
      lastLineNanos = System.nanoTime();
      err.println(text);
    }
  }

  void finish() {
    if (interactive) {
      err.println();
    }
  }

  String render(long done, double perSecond) {
    StringBuilder line = new StringBuilder();
    if (total > 0) {
      double fraction = Math.min(1.0, done / (double) total);
      int filled = (int) Math.round(fraction * WIDTH);
      line.append('[').append("#".repeat(filled)).append("-".repeat(WIDTH - filled)).append("] ");
      line.append(
          String.format(Locale.ROOT, "%3.0f%%  %,d/%,d events", 100 * fraction, done, total));
    } else {
      line.append(String.format(Locale.ROOT, "%,d events", done));
    }
    line.append(String.format(Locale.ROOT, "  %,.0f events/s", perSecond));
    return line.toString();
  }
}
