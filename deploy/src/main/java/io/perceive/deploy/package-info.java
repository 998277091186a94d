/** Deployment tools: topic creation, the local multi-process Flink cluster drill. */
package io.perceive.deploy;
