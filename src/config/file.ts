/**
 * Settings files (`--config <file>`): JSON, or YAML for a name ending .yaml/.yml, holding an object
 * of the same settings the flags set (camelCase, as `--print-config` prints them). The command's
 * own zod schema validates the result; a file that does not parse is named with its line.
 */
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { BadInputError } from '../core/errors.js';
import { readUserFile } from '../core/fs.js';

export function readSettingsFile(path: string): Record<string, unknown> {
  const text = readUserFile(path, 1 << 20).toString('utf8');
  let value: unknown;
  if (/\.ya?ml$/i.test(path)) {
    try {
      value = parseYaml(text);
    } catch (e) {
      const line = e instanceof YAMLParseError ? e.linePos?.[0]?.line : undefined;
      throw new BadInputError(`not YAML: ${(e as Error).message.split('\n')[0]}`, { file: path, ...(line ? { line } : {}) });
    }
  } else {
    try {
      value = JSON.parse(text);
    } catch (e) {
      const at = /position (\d+)/.exec((e as Error).message);
      const line = at ? text.slice(0, Number(at[1])).split('\n').length : undefined;
      throw new BadInputError(`not JSON (a .yaml or .yml name is read as YAML): ${(e as Error).message}`, { file: path, ...(line ? { line } : {}) });
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new BadInputError(`a settings file holds one object of settings, got ${Array.isArray(value) ? 'a list' : JSON.stringify(value)}`, { file: path });
  return value as Record<string, unknown>;
}
