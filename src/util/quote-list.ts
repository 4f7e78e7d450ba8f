/** `"a", "b", "c", ... (12 in all)`: the first `shown` names quoted, for messages about class lists. */
export function quoteList(names: readonly string[], shown: number): string {
  const head = names.slice(0, shown).map((n) => `"${n}"`).join(', ');
  return names.length > shown ? `${head}, ... (${names.length} in all)` : head;
}
