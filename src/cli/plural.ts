/** "1 tool", "2 tools": a count with its noun (`many` for irregular plurals; default: `one` + "s"). */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
