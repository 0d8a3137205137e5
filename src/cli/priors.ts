/** The ranking policy's flags, one per registered prior (models/ranking): `--prior-<name> <weight>`, and `--no-priors`. */
import type { Command } from 'commander';
import { priorWeight } from '../config/dvbpr.js';
import { decimal, parseConfig } from '../config/parse.js';
import { registeredPriors } from '../models/ranking/index.js';
import { z } from 'zod';

/** The options key of a prior's flag (--prior-product → priorProduct), in a settings file too. */
export const priorKey = (name: string) => `prior${name[0]!.toUpperCase()}${name.slice(1)}`;
const camel = priorKey;

export function addPriorFlags(cmd: Command): Command {
  for (const p of registeredPriors())
    cmd.option(`--prior-${p.name} <weight>`, `weight of the ${p.name} prior: ${p.summary} (default: the run's policy; 0: off)`);
  return cmd.option('--no-priors', "the model's own order: none of the run's priors (a --prior-<name> still applies)");
}

/** The prior weights the flags name, and whether the run's policy applies; the other flags are left to the command's own schema. */
export function priorsFromFlags(opts: Record<string, unknown>): { priors: Record<string, number>; usePolicy: boolean; rest: Record<string, unknown> } {
  const rest = { ...opts };
  const shape: Record<string, z.ZodType> = { priors: z.boolean().default(true) };
  const picked: Record<string, unknown> = { priors: rest.priors };
  delete rest.priors;
  for (const p of registeredPriors()) {
    const key = camel(p.name);
    shape[key] = decimal(priorWeight).optional();
    if (key in rest) picked[key] = rest[key];
    delete rest[key];
  }
  const f = parseConfig(z.object(shape).strict(), picked) as Record<string, unknown>;
  const priors: Record<string, number> = {};
  for (const p of registeredPriors()) if (f[camel(p.name)] !== undefined) priors[p.name] = f[camel(p.name)] as number;
  return { priors, usePolicy: f.priors as boolean, rest };
}
