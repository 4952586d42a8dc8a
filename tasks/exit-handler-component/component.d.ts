/** The exit handler's KFP component text, inlined by build.ts (the `kfp:exit-handler-component` module). */
declare module "kfp:exit-handler-component" {
  const text: string;
  export default text;
}
