// The Artillery processor of every scenario in load/scenarios. Artillery 2.0.34 bundles a `.ts` processor
// into CommonJS, which cannot load in this `"type": "module"` package; this ES module re-exports the
// TypeScript one instead, and Node 24 strips its types.
export * from './lib/processor.ts';
