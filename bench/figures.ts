// One line of the bench table, and where every figure goes.

export interface Figure {
  readonly scenario: string;
  readonly metric: string;
  readonly value: number;
  readonly unit: string;
  /** The goal, in words ("≤ 1.02"), when there is one. */
  readonly goal?: string;
  readonly met?: boolean;
}

export function figure(scenario: string, metric: string, value: number, unit: string, goal?: { text: string; met: boolean }): Figure {
  return goal === undefined ? { scenario, metric, value, unit } : { scenario, metric, value, unit, goal: goal.text, met: goal.met };
}
