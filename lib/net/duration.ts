/**
 * How every message, log line and summary writes a length of time: "850ms",
 * "1.5s", "45s", "3m 05s", "2h 03m 10s". Below a minute a tenth of a second
 * shows (a timeout of 1.5s is not one of 2s); from a minute on, whole seconds.
 */
export function formatDuration(ms: number): string {
  const millis = Math.max(0, Math.round(ms));
  if (millis < 1000) return millis === 0 ? "0s" : `${millis}ms`;
  // Number() drops a trailing ".0"; from 59.95s on, tenths would round up to a minute.
  if (millis < 59_950) return `${Number((millis / 1000).toFixed(1))}s`;
  const seconds = Math.round(millis / 1000);
  const hours = Math.floor(seconds / 3600);
  const two = (n: number) => String(n).padStart(2, "0");
  const minutes = `${hours > 0 ? `${hours}h ${two(Math.floor(seconds / 60) % 60)}` : Math.floor(seconds / 60)}m`;
  return `${minutes} ${two(seconds % 60)}s`;
}
