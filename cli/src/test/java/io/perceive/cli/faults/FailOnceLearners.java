package io.perceive.cli.faults;

import io.perceive.job.learner.Learner;
import io.perceive.job.learner.LearnerFactory;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Wraps the job's real learners so that one of them throws once, in the middle of the stream, from
 * inside a minibatch step: the injected task failure of the fault tests. The wrapper is a dynamic
 * proxy, so it keeps delegating every method the {@link Learner} interface has or gains.
 *
 * <p>The flags are static: the MiniCluster runs the tasks in this JVM with the test's class loader,
 * and the failure must happen once per test, not once per restored task.
 */
final class FailOnceLearners implements LearnerFactory {
  private static final long serialVersionUID = 1L;

  static final AtomicBoolean FAILED = new AtomicBoolean();
  static final AtomicInteger STEPS = new AtomicInteger();

  private final LearnerFactory inner;
  private final int failAtStep;

  FailOnceLearners(LearnerFactory inner, int failAtStep) {
    this.inner = inner;
    this.failAtStep = failAtStep;
  }

  static void reset() {
    FAILED.set(false);
    STEPS.set(0);
  }

  @Override
  public Learner create(int subtaskIndex, int parallelism) {
    Learner real = inner.create(subtaskIndex, parallelism);
    return (Learner)
        Proxy.newProxyInstance(
            Learner.class.getClassLoader(),
            new Class<?>[] {Learner.class},
            (proxy, method, args) -> {
              if (method.getName().equals("scoreThenTrain")
                  && STEPS.incrementAndGet() >= failAtStep
                  && FAILED.compareAndSet(false, true))
                throw new IllegalStateException("injected failure at step " + STEPS.get());
              try {
                return method.invoke(real, args);
              } catch (InvocationTargetException e) {
                throw e.getCause();
              }
            });
  }
}
