/**
 * Megatron-LM core_v0.19.0 exports of hybrid Mamba models (TransformerSpec.hybridPattern), run
 * through their launch script and read against the oracles: pretrain_hybrid.py with the release's
 * flags, the model's layers in order, the pattern's `|` segments holding each stage's layers, and
 * none of the pipeline arguments validate_args forbids beside a pattern, context parallelism as
 * MambaContextParallel splits heads and groups; and the refusals.
 */
import { describe, expect, it } from 'vitest';
import { FRAMEWORKS } from '../../src/frameworks/index.ts';
import { resolveDims } from '../../src/model/dims.ts';
import { estimate } from '../../src/planner/estimate.ts';
import { type PlanRequest, TransformerSpec } from '../../src/schema/index.ts';
import { type Checked, checkExport, estimated, requestOf } from './megatron-check.ts';
import { nemotron3NanoModel } from './models.ts';

/** A small Nemotron-H-like hybrid: Mamba-2, attention, MLP and MoE layers; no biases, no dropout. */
const hybrid = {
  kind: 'transformer',
  layers: 12,
  hidden: 1024,
  heads: 16,
  kvHeads: 4,
  ffnHidden: 2048,
  vocab: 32000,
  seqLen: 2048,
  activation: 'squared-relu',
  hybridPattern: 'M-M*MEM-M*ME',
  mamba: { heads: 32, headDim: 64, stateDim: 128, groups: 8 },
  moe: { experts: 8, topK: 2, ffnHidden: 512, dropless: true },
} as const;
const hybridSpec = TransformerSpec.parse(hybrid);
/** A pattern whose every 4-layer chunk is alike: interleaving gives each rank its planned layers. */
const periodic = { ...hybrid, layers: 16, hybridPattern: 'M*ME'.repeat(4) } as const;
/** Mamba-2, attention and MLP layers only (Nemotron-H 8B style). */
const denseHybrid = {
  ...hybrid,
  hybridPattern: 'M-M-M*-M-M-M*-'.slice(0, 12),
  moe: undefined,
} as const;
/** Attention as multi-latent attention: Megatron's `+` layers. */
const mlaHybrid = {
  ...denseHybrid,
  kvHeads: undefined,
  mla: { qLoraRank: null, kvLoraRank: 256, qkNopeHeadDim: 64, qkRopeHeadDim: 32, vHeadDim: 64 },
} as const;

const sp = { sequenceParallel: true };
const gb300 = { gpu: 'GB300-288GB', nodes: 1, gpusPerNode: 8 };

/** validate_args' refusals beside --hybrid-layer-pattern (and --num-layers, which the pattern overrides). */
const FORBIDDEN_WITH_PATTERN = [
  '--pipeline-model-parallel-layout',
  '--num-layers-per-virtual-pipeline-stage',
  '--num-virtual-stages-per-pipeline-rank',
  '--decoder-first-pipeline-num-layers',
  '--decoder-last-pipeline-num-layers',
  '--account-for-embedding-in-pipeline-split',
  '--account-for-loss-in-pipeline-split',
  '--num-layers',
];

const pattern = ({ ns }: Checked) => String(ns.values.get('hybrid_layer_pattern'));

describe('hybrid Mamba models export as pretrain_hybrid.py runs them', () => {
  const cases: readonly [string, PlanRequest, (c: Checked) => void][] = [
    [
      'pp 1: the pattern whole, the hybrid stack spec, the Mamba sizes, no --num-layers',
      requestOf(hybrid, { tp: 2, pp: 1, dp: 8, ep: 4, ...sp }),
      (c) => {
        expect(pattern(c)).toBe('M-M*MEM-M*ME');
        expect(c.ns.values.get('spec')).toEqual([
          'megatron.core.models.hybrid.hybrid_layer_specs',
          'hybrid_stack_spec',
        ]);
        expect(c.ns.values.has('num_layers')).toBe(false);
        expect(c.ns.values.get('mamba_num_heads')).toBe('32');
      },
    ],
    [
      'pp 2, even: two segments of six layers',
      requestOf(hybrid, { tp: 2, pp: 2, dp: 4, ep: 4, ...sp }),
      (c) => expect(pattern(c)).toBe('M-M*ME|M-M*ME'),
    ],
    [
      'pp 2, uneven: the segments hold the stages’ 5 and 7 layers',
      requestOf(hybrid, { tp: 2, pp: 2, dp: 4, ep: 4, stageLayers: [5, 7], ...sp }),
      (c) => expect(pattern(c)).toBe('M-M*M|EM-M*ME'),
    ],
    [
      'pp 4, uneven middle stages',
      requestOf(hybrid, { tp: 1, pp: 4, dp: 4, ep: 4, stageLayers: [2, 4, 1, 5] }),
      (c) => expect(pattern(c)).toBe('M-|M*ME|M|-M*ME'),
    ],
    [
      'pp 2 × 2 virtual stages: four segments, rank i holding segments i and i + 2',
      requestOf(periodic, { tp: 2, pp: 2, dp: 4, ep: 4, virtualStages: 2, ...sp }),
      (c) => expect(pattern(c)).toBe('M*ME|M*ME|M*ME|M*ME'),
    ],
    [
      'pp 2 × 2 virtual stages, uneven: each rank’s 6 and 10 layers in chunks of 3 and 5',
      // Rank 0 holds M*M and MME (its stage: M*MMEM), rank 1 MEM*E and M*MEM (*EMMEM*MEM).
      requestOf(
        { ...periodic, hybridPattern: 'M*MMEM*EMMEM*MEM' },
        { tp: 2, pp: 2, dp: 4, ep: 4, virtualStages: 2, stageLayers: [6, 10], ...sp },
      ),
      (c) => expect(pattern(c)).toBe('M*M|MEM*E|MME|M*MEM'),
    ],
    [
      'Mamba, attention and MLP layers in FP8: 3088 packed Mamba columns per tp rank',
      requestOf(denseHybrid, { tp: 2, pp: 2, dp: 4, ...sp }, 'fp8'),
      (c) => {
        expect(c.ns.values.has('num_experts')).toBe(false);
        expect(c.ns.values.get('fp8')).toBe('hybrid');
      },
    ],
    [
      'multi-latent attention: the pattern’s attention layers written as Megatron’s MLA layers (+)',
      requestOf(mlaHybrid, { tp: 2, pp: 1, dp: 8, ...sp }),
      (c) => {
        expect(pattern(c)).toBe('M-M-M+-M-M-M');
        expect(c.ns.values.get('multi_latent_attention')).toBe(true);
      },
    ],
    [
      'latent MoE with two MTP depths (Nemotron 3 Super’s form): the unified pattern, the latent width, the fused weighted squared ReLU',
      requestOf(
        { ...hybrid, mtpLayers: 2, moe: { ...hybrid.moe, latentSize: 256, sharedExperts: 1 } },
        { tp: 2, pp: 2, dp: 4, ep: 4, ...sp },
      ),
      (c) => {
        // Main layers cut at `|`, then one `/*E` a depth, each with weights of its own as priced.
        expect(pattern(c)).toBe('M-M*ME|M-M*ME/*E/*E');
        expect(c.ns.values.get('moe_latent_size')).toBe('256');
        expect(c.ns.values.get('use_fused_weighted_squared_relu')).toBe(true);
        expect(c.ns.values.get('mtp_use_repeated_layer')).toBeUndefined();
      },
    ],
    [
      'one MTP module run at both depths (Nemotron 3’s checkpoints): the same pattern, --mtp-use-repeated-layer',
      requestOf(
        { ...hybrid, mtpLayers: 2, mtpRepeatedLayer: true, moe: { ...hybrid.moe, latentSize: 256 } },
        { tp: 2, pp: 2, dp: 4, ep: 4, ...sp },
      ),
      (c) => {
        expect(pattern(c)).toBe('M-M*ME|M-M*ME/*E/*E');
        expect(c.ns.values.get('mtp_use_repeated_layer')).toBe(true);
      },
    ],
    [
      'dropout, priced after the Mamba mixers as MambaLayer applies it: --hidden-dropout',
      requestOf({ ...hybrid, dropout: true }, { tp: 2, pp: 1, dp: 8, ep: 4, ...sp }),
      (c) => expect(Number(c.ns.values.get('hidden_dropout'))).toBeGreaterThan(0),
    ],
    [
      'context parallelism 2 over tp 2: each cp rank scans 8 of a tp rank’s 16 Mamba heads',
      requestOf(hybrid, { tp: 2, pp: 1, dp: 4, cp: 2, ep: 4, ...sp }),
      (c) => expect(c.ns.values.get('context_parallel_size')).toBe('2'),
    ],
    [
      'context parallelism 8 over tp 2: a tp rank’s 4 Mamba groups repeated over the 8 cp ranks',
      requestOf(hybrid, { tp: 2, pp: 1, dp: 1, cp: 8, ep: 4, ...sp }),
      (c) => expect(c.ns.values.get('context_parallel_size')).toBe('8'),
    ],
    [
      'tp 4 past the attention layers’ 2 query groups: each rank one group and 4 of its query heads',
      requestOf({ ...hybrid, kvHeads: 2 }, { tp: 4, pp: 1, dp: 4, ep: 4, ...sp }),
      (c) => {
        expect(c.ns.values.get('tensor_model_parallel_size')).toBe('4');
        expect(c.ns.values.get('num_query_groups')).toBe('2');
      },
    ],
    [
      'squared ReLU priced unfused (activationFusion false): no fused-kernel flag',
      requestOf({ ...hybrid, activationFusion: false }, { tp: 2, pp: 1, dp: 8, ep: 4, ...sp }),
      (c) => expect(c.ns.values.has('use_fused_weighted_squared_relu')).toBe(false),
    ],
  ];
  for (const [name, request, extra] of cases) {
    it(name, async () => extra(checkExport(await estimated(request), request)));
  }

  it('with pp > 1 writes none of the pipeline arguments validate_args forbids beside a pattern, where a GPT model of the same cuts needs them', async () => {
    const cuts = [
      [hybrid, { tp: 2, pp: 2, dp: 4, ep: 4, stageLayers: [5, 7], ...sp }],
      [hybrid, { tp: 1, pp: 4, dp: 4, ep: 4, stageLayers: [2, 4, 1, 5] }],
      [periodic, { tp: 2, pp: 2, dp: 4, ep: 4, virtualStages: 2, ...sp }],
    ] as const;
    for (const [model, parallel] of cuts) {
      const args = (await estimated(requestOf(model, parallel))).exports!.megatron.args;
      expect(args.filter((a) => FORBIDDEN_WITH_PATTERN.includes(a))).toEqual([]);
      expect(args.find((a) => a === '--hybrid-layer-pattern')).toBeDefined();
      const { hybridPattern: _, mamba: __, ...gpt } = model;
      const gptArgs = (await estimated(requestOf(gpt, parallel))).exports!.megatron.args;
      expect(gptArgs.filter((a) => FORBIDDEN_WITH_PATTERN.includes(a)).length).toBeGreaterThan(0);
    }
  });

  it('the command line starts pretrain_hybrid.py, and the launch script runs it', async () => {
    const m = (await estimated(requestOf(hybrid, { tp: 2, pp: 2, dp: 4, ep: 4, ...sp }))).exports!.megatron;
    expect(m.command.startsWith('pretrain_hybrid.py --')).toBe(true);
    expect(m.files[0]!.content).toContain('"$MEGATRON_LM/pretrain_hybrid.py"');
    expect(m.files[0]!.content).not.toContain('pretrain_gpt.py');
  });
});

describe('Nemotron 3 Nano on 8 GB300 in MXFP8', () => {
  const nano = (parallel: object) =>
    requestOf(
      nemotron3NanoModel,
      { microBatch: 4, zero: 1, fp8ParamGather: true, ...parallel },
      'mxfp8',
      gb300,
      512,
    );

  it('ep 8 on one stage: the whole pattern, 64 Mamba heads in 8 groups', async () => {
    const request = nano({ tp: 1, pp: 1, dp: 8, ep: 8 });
    const c = checkExport(await estimated(request), request);
    expect(pattern(c)).toBe('MEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEM*EMEMEMEM*EMEMEMEME');
    expect(c.ns.values.get('mamba_num_groups')).toBe('8');
    expect(c.ns.values.get('fp8_param_gather')).toBe(true);
  });

  it('pp 2: the 52 layers cut 26 | 26', async () => {
    const request = nano({ tp: 1, pp: 2, dp: 4, ep: 4 });
    const c = checkExport(await estimated(request), request);
    expect(
      pattern(c)
        .split('|')
        .map((s) => s.length),
    ).toEqual([26, 26]);
  });

  it('asked to overlap the expert all-to-alls, leaves the flag out and says why (HybridModel has no build_schedule_plan)', async () => {
    const m = (await estimated(nano({ tp: 1, pp: 1, dp: 8, ep: 8, overlapExpertParallelComm: true })))
      .exports!.megatron;
    expect(m.expressible).toBe(true);
    expect(m.args).not.toContain('--overlap-moe-expert-parallel-comm');
    expect(m.notes.join(' ')).toMatch(/build_schedule_plan/);
  });
});

describe('what Megatron-LM cannot run of a hybrid model is refused with the reason', () => {
  const refusal = async (request: PlanRequest) => {
    const m = (await estimate({ ...request, options: { ...request.options, target: 'any' } })).exports!
      .megatron;
    expect(m.expressible).toBe(false);
    expect(m.args).toEqual([]);
    return m.notes.join(' ');
  };

  it('a convolution of other than 4 taps, a scan chunk of other than 128 tokens', async () => {
    const taps = { ...hybrid, mamba: { ...hybrid.mamba, convKernel: 3 } };
    expect(await refusal(requestOf(taps, { tp: 2, pp: 1, dp: 8, ep: 4, ...sp }))).toMatch(
      /model\.mamba\.convKernel is 3/,
    );
    const chunk = { ...hybrid, mamba: { ...hybrid.mamba, chunkSize: 256 } };
    expect(await refusal(requestOf(chunk, { tp: 2, pp: 1, dp: 8, ep: 4, ...sp }))).toMatch(
      /model\.mamba\.chunkSize is 256/,
    );
  });

  it('context parallelism that splits a head or a group (MambaContextParallel’s asserts)', async () => {
    // 24 heads in 8 groups over tp 2: 12 heads a tp rank, which cp 8 cannot split whole.
    const heads = { ...hybrid, mamba: { ...hybrid.mamba, heads: 24 } };
    expect(await refusal(requestOf(heads, { tp: 2, pp: 1, dp: 1, cp: 8, ep: 4, ...sp }))).toMatch(
      /12 Mamba heads \(model\.mamba\.heads over tp = 2\) do not divide over cp = 8/,
    );
    // 6 groups over tp 2: 3 a tp rank, fewer than cp 4 and no divisor of it.
    const groups = { ...hybrid, mamba: { ...hybrid.mamba, heads: 24, groups: 6 } };
    expect(await refusal(requestOf(groups, { tp: 2, pp: 1, dp: 2, cp: 4, ep: 4, ...sp }))).toMatch(
      /cp = 4 is not a multiple of the 3 Mamba groups a tensor-parallel rank holds/,
    );
  });

  it('interleaving that gives a rank other layers than its planned stage', async () => {
    // Rank 0 would hold segments 0 and 2, "M-M" twice, where its stage is "M-M*ME".
    const request = requestOf(hybrid, { tp: 2, pp: 2, dp: 4, ep: 4, virtualStages: 2, ...sp });
    expect(await refusal(request)).toMatch(
      /pipeline rank 0 the pattern's segments 0, 2.*parallel\.virtualStages/,
    );
  });

  it('MoE layers on GPUs without grouped GEMM kernels (the hybrid spec builds no other experts)', async () => {
    const v100 = { gpu: 'V100-32GB', nodes: 2, gpusPerNode: 8 };
    const request = requestOf(hybrid, { tp: 2, pp: 1, dp: 8, ep: 4, ...sp }, 'fp16', v100);
    expect(await refusal(request)).toMatch(/grouped GEMMs \(hybrid_layer_specs\.py\)/);
  });

  it('torchtitan, DeepSpeed and JAX still refuse it, pointing at Megatron-LM', async () => {
    const request = requestOf(hybrid, { tp: 2, pp: 1, dp: 8, ep: 4, ...sp });
    const exports = (await estimated(request)).exports!;
    expect(exports.megatron.expressible).toBe(true);
    for (const other of [exports.torchtitan, exports.deepspeed, exports.jax])
      expect(other.expressible).toBe(false);
    const dims = resolveDims(hybridSpec, { microBatch: 1, precision: 'bf16' });
    expect(FRAMEWORKS.megatron.builds(dims)).toEqual({ ok: true });
    for (const name of ['torchtitan', 'deepspeed', 'jax'] as const) {
      const verdict = FRAMEWORKS[name].builds(dims);
      expect(verdict.ok ? '' : verdict.reason).toMatch(/model\.hybridPattern.*Megatron-LM/);
    }
  });
});
