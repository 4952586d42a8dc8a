/**
 * One line of the benchmark report: a measured value, the baseline it is
 * compared with in the same run, their ratio, and the goal it is held to.
 */
import { median } from "./stats.ts";

/** KB and MB are 1024-based, as the build prints sizes. */
export type Unit = "ms" | "KB" | "MB" | "requests" | "requests/poll" | "tasks";

export interface Baseline {
  label: string;
  value: number;
  unit: Unit;
}

export interface Figure {
  /** Stable key, e.g. `cold-start/upload-pipeline`. */
  id: string;
  /** What was measured, as a reader says it. */
  figure: string;
  /** The median of `samples` (or a count or size measured once). */
  value: number;
  unit: Unit;
  samples: number[];
  baseline?: Baseline;
  /**
   * value / baseline.value, when both are in the same unit; for a `paired` figure,
   * the median of each round's sample / baseline sample instead.
   */
  ratio?: number;
  /** The samples were taken interleaved with the baseline's, one pair per round. */
  paired?: true;
  goal: string;
  /** Undefined when the figure has no goal of its own. */
  met?: boolean;
  /** What a reader needs to judge the figure: counts, request lists, causes. */
  details?: Record<string, unknown>;
}

interface FigureInit {
  id: string;
  figure: string;
  unit: Unit;
  samples: number[];
  baseline?: { label: string; samples: number[] };
  /**
   * Each sample was taken in the same round as the baseline sample at its index:
   * the ratio is the median of the rounds' ratios, so a round slowed by other
   * work on the machine slows both sides of its pair.
   */
  paired?: boolean;
  goal?: string;
  /** Decides `met` from the value, the baseline value and the ratio. */
  check?: (value: number, ratio: number | undefined, baseline: number | undefined) => boolean;
  details?: Record<string, unknown>;
}

/** A figure from its samples: medians, the ratio, and whether the goal was met. */
export function figure(init: FigureInit): Figure {
  const value = median(init.samples);
  const baseline = init.baseline && { label: init.baseline.label, value: median(init.baseline.samples), unit: init.unit };
  const paired = init.paired === true && init.baseline !== undefined && init.baseline.samples.length === init.samples.length;
  const ratio =
    !baseline || baseline.value <= 0 ? undefined : paired ? pairedRatio(init.samples, init.baseline!.samples) : value / baseline.value;
  return {
    id: init.id,
    figure: init.figure,
    value,
    unit: init.unit,
    samples: init.samples,
    ...(baseline ? { baseline } : {}),
    ...(ratio !== undefined ? { ratio } : {}),
    ...(paired ? { paired: true as const } : {}),
    goal: init.goal ?? "",
    ...(init.check ? { met: init.check(value, ratio, baseline?.value) } : {}),
    ...(init.details ? { details: init.details } : {}),
  };
}

/** The median of samples[i] / baseline[i]. */
export function pairedRatio(samples: readonly number[], baseline: readonly number[]): number {
  return median(samples.map((sample, i) => sample / baseline[i]!));
}

/** A goal on the ratio: `<= limit×`. */
export function ratioAtMost(limit: number): Pick<FigureInit, "goal" | "check"> {
  return { goal: `<= ${limit}x`, check: (_value, ratio) => ratio !== undefined && ratio <= limit };
}

/** A figure group that could not be measured, and why. */
export interface Unmeasured {
  id: string;
  reason: string;
}
