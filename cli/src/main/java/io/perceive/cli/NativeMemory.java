package io.perceive.cli;

/**
 * Native-memory policy of the long-running commands ({@code demo}, {@code run}, {@code serve}). The
 * launcher's default JavaCPP flags (no pointer GC, STACK.md) are fastest for short runs but never
 * free the off-heap memory of dropped ND4J arrays: measured with the default 100k-event demo,
 * resident memory reached 9.8 GB after 58k events. With pointer GC on and a ceiling, a 60k-event
 * single-loop replay stayed at 1.6 GB instead of 5.4 GB and took 24 s instead of 19 s
 * (docs/streaming-learner.md). Must run before any ND4J/JavaCPP class loads.
 */
final class NativeMemory {

  private NativeMemory() {}

  static void enablePointerGc() {
    System.setProperty("org.bytedeco.javacpp.nopointergc", "false");
    System.setProperty("org.bytedeco.javacpp.maxBytes", "3g");
    System.setProperty("org.bytedeco.javacpp.maxPhysicalBytes", "10g");
  }
}
