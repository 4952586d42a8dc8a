/**
 * The exit handler: the in-cluster script a KFP pipeline runs when it ends,
 * which tells Azure DevOps (TaskCompleted) that a waiting "Kubeflow Experiment
 * Run Async" task is done. It ships as its own bundle (main.ts is the entry),
 * wrapped in a KFP component (component.ts) as dist/exit-handler/component.yaml.
 *
 * May import: lib/net. Imported by: the dev tools and tests only (the callback
 * info's shape, for the fake Azure DevOps).
 *
 * @module
 */
export type { CallbackInfo } from "./callback-info.ts";
