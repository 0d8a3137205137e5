/**
 * Settings files for a command: `--config <file>` (JSON or YAML) holds any of its settings, the
 * flags given on the line override it, and `--print-config` prints what would run, defaults
 * included, in the form `--config` reads back. `--help` lists the everyday flags; the others stay
 * flags (and settings file keys) but are left out of it.
 */
import type { Command } from 'commander';
import type { z } from 'zod';
import { parseConfig } from '../config/parse.js';
import { readSettingsFile } from '../config/file.js';

export function addSettingsFlags(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'settings file (JSON, or YAML for .yaml/.yml) with any setting; flags given override it')
    .option('--print-config', 'print the resolved settings, defaults included, as JSON (what --config reads), and exit');
}

/** The options the user gave on the line (or the environment), not commander's defaults. */
export function givenOptions(cmd: Command, opts: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(opts).filter(([k]) => cmd.getOptionValueSource(k) !== 'default'));
}

/** Leaves these flags out of --help (they still work; a settings file sets them too). */
export function hideInHelp(cmd: Command, longs: string[]): Command {
  for (const o of cmd.options) if (o.long && longs.includes(o.long)) o.hideHelp();
  return cmd;
}

/**
 * A command's options with its settings file laid in: the file's values where the line gave no
 * flag (commander's defaults yield to the file), the flags given on the line over both. Returns
 * the file as read too (undefined without --config), and whether --print-config was asked.
 */
export function layeredOptions(
  cmd: Command,
  opts: Record<string, unknown>,
): { options: Record<string, unknown>; file: Record<string, unknown> | undefined; print: boolean } {
  const { config, printConfig, ...rest } = opts;
  const file = typeof config === 'string' ? readSettingsFile(config) : undefined;
  return { options: file ? { ...rest, ...file, ...givenOptions(cmd, rest) } : rest, file, print: printConfig === true };
}

/**
 * A command's flags resolved through its schema, a settings file laid in (`layeredOptions`); with
 * --print-config they are printed (as the file --config reads back) and null is returned: the
 * command then stops.
 */
export function settingsFor<S extends z.ZodType>(cmd: Command, schema: S, opts: Record<string, unknown>): z.infer<S> | null {
  const config = typeof opts.config === 'string' ? opts.config : undefined;
  const { options, print } = layeredOptions(cmd, opts);
  const f = parseConfig(schema, options, config ? `setting (${config} or a flag)` : 'option');
  if (!print) return f;
  process.stdout.write(JSON.stringify(f, null, 2) + '\n');
  return null;
}
