/**
 * Settings files for a command: `--config <file>` (JSON or YAML) holds any of its settings, the
 * flags given on the line override it, and `--print-config` prints what would run, defaults
 * included, in the form `--config` reads back. `--help` lists the everyday flags; the others stay
 * flags (and settings file keys) but are left out of it.
 */
import type { Command } from 'commander';
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
