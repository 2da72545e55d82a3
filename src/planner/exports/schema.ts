/** The exporters produce the plan schema's `Exports` (src/schema/plan.ts): defined once, there. */
import { Exports } from '../../schema/plan.ts';

export { JaxStageMap } from '../../schema/plan.ts';
export const FrameworkExports = Exports;
export type FrameworkExports = Exports;
