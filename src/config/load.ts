/**
 * Reading the config file. It lives in /etc, which on a router may be read-only, and it is the
 * owner's file: we read it and never create, rewrite or "fix" it, nor the directory it is in.
 *
 * Conf does the reading, but only for a file that exists (constructed for a missing file it
 * mkdirs the directory), with no defaults, schema or migrations (any of which make it write the
 * file back), and with a deserialize hook that hands it an empty store: Conf then has nothing to
 * merge or save, while we keep the text and parse it ourselves for line/column errors.
 * A serialize hook that throws makes sure a write attempt fails instead of touching the file.
 */
import fs from 'node:fs';
import path from 'node:path';
import Conf from 'conf';
import { parseJson } from './json.ts';
import { dottedNaming, validateLayer, type LayerResult } from './validate.ts';

export interface LoadedFile extends LayerResult {
  /** False when there is no file at the path: all defaults, and no problem. */
  found: boolean;
}

type ReadResult = { ok: true; text: string } | { ok: false; message: string };

/** Conf doing something we did not ask for: a bug in how it is used here, so it is thrown. */
class ConfMisuse extends Error {}

function errnoCode(error: unknown): string | undefined {
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') return error.code;
  return undefined;
}

function readErrorMessage(error: unknown): string {
  switch (errnoCode(error)) {
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read: permission denied';
    case 'EISDIR':
      return 'is a directory; expected a JSON file';
    case 'ENOTDIR':
      return 'cannot be read: a parent of it is not a directory';
    case 'ELOOP':
      return 'cannot be read: too many symbolic links';
    default:
      return `cannot be read: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** Reads an existing file through Conf without letting it write anything. */
function readWithConf(file: string): ReadResult {
  const { dir, base, name, ext } = path.parse(file);
  // Conf joins configName + "." + fileExtension; a name ending in a bare dot has no extension.
  const hasExtension = ext.length > 1;
  let text: string | undefined;
  try {
    const conf = new Conf<Record<string, unknown>>({
      cwd: dir,
      configName: hasExtension ? name : base,
      fileExtension: hasExtension ? ext.slice(1) : '',
      accessPropertiesByDotNotation: false,
      clearInvalidConfig: false,
      watch: false,
      deserialize: (data) => {
        text = data;
        return {};
      },
      serialize: () => {
        throw new ConfMisuse('conf tried to write the config file');
      },
    });
    if (conf.path !== file) throw new ConfMisuse(`conf read ${conf.path} instead of ${file}`);
  } catch (error) {
    if (error instanceof ConfMisuse) throw error;
    return { ok: false, message: readErrorMessage(error) };
  }
  // Conf reads with readFileSync; nothing read means the file vanished under us (Conf's ENOENT path).
  if (text === undefined) return { ok: false, message: 'disappeared while being read' };
  return { ok: true, text };
}

/** Reads and validates one config file; see LoadedFile. Problems name `path` as their source. */
export function loadConfigFile(file: string): LoadedFile {
  const source = file;
  const absolute = path.resolve(file);
  const problem = (message: string): LoadedFile => ({
    layer: {},
    problems: [{ source, path: '', message }],
    rejected: [],
    found: true,
  });

  let stat: fs.Stats;
  try {
    stat = fs.statSync(absolute);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return { layer: {}, problems: [], rejected: [], found: false };
    return problem(readErrorMessage(error));
  }
  if (stat.isDirectory()) return problem('is a directory; expected a JSON file');

  const read = readWithConf(absolute);
  if (!read.ok) return problem(read.message);
  // Editors on other systems may save a byte order mark; JSON.parse rejects it.
  const text = read.text.replace(/^\uFEFF/, '');
  if (text.trim() === '') return problem('is empty; expected a JSON object ({} for all defaults)');

  const parsed = parseJson(text);
  if (!parsed.ok) return problem(`not valid JSON: ${parsed.message}`);
  const checked = validateLayer(parsed.value, source, dottedNaming);
  return { ...checked, found: true };
}
