/**
 * Settings files for a command: `--config <file>` (JSON or YAML) holds any of its settings, the
 * flags given on the line override it, and `--print-config` prints what would run, defaults
 * included, in the form `--config` reads back. `--help` lists the everyday flags; the others stay
 * flags (and settings file keys) but are left out of it.
 */
import type { Command } from 'commander';

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
