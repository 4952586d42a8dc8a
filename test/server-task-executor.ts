/**
 * The server-task executor for tests: it lives in lib/dev/server-task/mod.ts,
 * shared with `npm run demo`, so there is one implementation of how Azure
 * DevOps expands and sends an agentless task's HttpRequest.
 */
export * from "../lib/dev/server-task/mod.ts";
