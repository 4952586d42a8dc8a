/**
 * The local tools: `npm run task` (cli.ts: one task's bundle from a laptop,
 * against a real or a fake KFP) and `npm run demo` (demo.ts: every task end to
 * end against the fakes), with their readable log and the runner of a KFP
 * component's command on this machine (component.ts).
 *
 * Never ships. May import anything, build.ts through its exported API only;
 * imported by the tests.
 *
 * @module
 */
export { type ComponentResult, type ComponentSpec, componentArgv, readComponent, runComponent } from "./component.ts";
export { AZDO_PAT, type DemoFakes, KFP_TOKEN, runDemo } from "./demo.ts";
export { LocalLog } from "./log.ts";
