package io.perceive.cli.demo;

import java.util.List;

/** Lets tests outside the demo package check that an argument list parses as demo options. */
public final class DemoOptionsAccess {
  private DemoOptionsAccess() {}

  public static void parse(List<String> args) {
    DemoOptions.parse(args);
  }
}
