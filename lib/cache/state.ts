/**
 * The state store under `.pharos/`: one `state.json` snapshot (records of every
 * target's last success, tool versions, durations) plus an append-only
 * `journal.ndjson`. Loading reads two files whatever the graph size. File
 * stamps and digests live in `stamps.json`, read only when some target's
 * stamp fingerprint (`TargetRecord.fast`) no longer matches: a no-op build
 * never parses the 100,000-entry stamp table.
 *
 * Durability: a record is appended to the journal (one `write` of one complete
 * line) only after its target succeeded, so a build killed with -9 keeps every
 * finished target and nothing half-done; a torn last line is ignored. At the
 * end of a build the snapshot is rewritten atomically (temp file + rename) and
 * the journal emptied; replaying a journal over a newer snapshot is harmless.
 *
 * Damage: a snapshot or journal line that parses but is not a record (`null`,
 * a record without its fields), or a state file that cannot be read (a
 * directory in its place), is a `StateCorrupt` naming the file; `pharos clean`
 * discards the state (recover.ts). Write failures (full disk, read-only)
 * are one message naming the file (`ioError`). `stamps.json` and `keys.json`
 * are caches: damaged ones are ignored when read.
 */
import { appendFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PharosError } from '../errors.js';
import type { CacheKey } from './key.js';
import type { StampDb } from './hash.js';
import { errnoCode, io, ioError } from './ioerror.js';
import { writeFileAtomicSync } from '../util/atomic.js';

/** A state file that is not what this version wrote. */
export class StateCorrupt extends PharosError {
  constructor(readonly file: string, why: string) {
    super(`the build state is damaged: ${file}: ${why}`, {
      hint: 'run `pharos clean` to discard the build state (every target rebuilds; the machine cache is kept)',
    });
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Why a value is not a `TargetRecord`, or undefined when it is one. */
function badRecord(r: unknown): string | undefined {
  if (!isObj(r)) return `a record is ${r === null ? 'null' : typeof r}`;
  if (typeof r.keyHash !== 'string') return 'a record has no keyHash';
  if (typeof r.outputDigest !== 'string') return 'a record has no outputDigest';
  if (!isObj(r.outputFiles)) return 'a record has no outputFiles';
  if (typeof r.durationMs !== 'number') return 'a record has no durationMs';
  if (r.fast !== undefined && typeof r.fast !== 'string') return 'a record has a bad fast fingerprint';
  return undefined;
}

/** A file's text; `undefined` when it does not exist; other read errors name the file. */
function readState(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return undefined;
    throw ioError(e, 'read', path);
  }
}

/** Writes a file atomically (temp + rename); failures name the file. */
function writeAtomic(path: string, text: string): void {
  try {
    writeFileAtomicSync(path, text);
  } catch (e) {
    throw ioError(e, 'write', path);
  }
}

export interface TargetRecord {
  /**
   * Digest of the key's stable JSON: the no-op check compares only this. The
   * full key (for `why`) lives in `keys.json`, read only when a key differs.
   */
  keyHash: string;
  /** The JSON value `run` returned; given to dependents and as `ctx.previous`. */
  output: unknown;
  /** Digest of output value + output file digests: what dependents' keys carry. */
  outputDigest: string;
  /** Absolute output path -> digest when recorded. */
  outputFiles: Record<string, string>;
  durationMs: number;
  builtAt: string;
  /**
   * Digest of everything the key is made of, with input and output files as
   * (path, stamp) instead of content digests. Equal now = key and output
   * files unchanged, decided with stats alone (see engine `check`).
   */
  fast?: string;
}

/** The stamp DB; any change marks the store dirty, so a no-op build writes nothing. */
class Stamps extends Map<string, [string, string]> {
  dirty = false;
  override set(k: string, v: [string, string]): this {
    this.dirty = true;
    return super.set(k, v);
  }
  override delete(k: string): boolean {
    const had = super.delete(k);
    if (had) this.dirty = true;
    return had;
  }
}

interface Snapshot {
  version: 4;
  records: Record<string, TargetRecord>;
  /** Tool binary path + args -> [stamp of the binary, version line]. */
  tools: Record<string, [string, string]>;
  /** Last measured duration of every target, also of those whose record was cleaned. */
  durations: Record<string, number>;
}

/** The previous format: stamps inline. Read once and migrated (no rebuild). */
interface SnapshotV3 extends Omit<Snapshot, 'version'> {
  version: 3;
  stampPaths: string[];
  stampVals: string[];
}

interface StampFile {
  version: 1;
  /** Parallel arrays (parse faster than a 100,000-key object): path, `stamp digest`. */
  paths: string[];
  vals: string[];
}

function fillStamps(db: Stamps, paths: string[], vals: string[]): void {
  for (let i = 0; i < paths.length; i++) {
    const v = vals[i]!;
    const sp = v.indexOf(' ');
    Map.prototype.set.call(db, paths[i]!, [v.slice(0, sp), v.slice(sp + 1)]);
  }
}

type JournalLine = { t: 'rec'; name: string; rec: TargetRecord; key: string } | { t: 'del'; name: string };

export class StateStore {
  readonly records = new Map<string, TargetRecord>();
  /** Loaded on first use (`stamps`). */
  private stampDb: Stamps | undefined;
  /** Set by any record/tool change; `save()` is skipped while false. */
  private dirty = false;
  readonly tools = new Map<string, [string, string]>();
  readonly durations = new Map<string, number>();
  private readonly snapshotPath: string;
  private readonly journalPath: string;
  private readonly keysPath: string;
  /** name -> key JSON; `undefined` until first needed (why, a changed key, save). */
  private keys: Map<string, string> | undefined;
  /** Keys from the journal and this run, merged into `keys` when it loads. */
  private readonly newKeys = new Map<string, string | null>();

  constructor(readonly stateDir: string) {
    this.snapshotPath = join(stateDir, 'state.json');
    this.journalPath = join(stateDir, 'journal.ndjson');
    this.keysPath = join(stateDir, 'keys.json');
    this.stampsPath = join(stateDir, 'stamps.json');
    this.load();
  }

  private readonly stampsPath: string;

  /** path -> [stamp, digest]: read from `stamps.json` the first time it is needed. */
  get stamps(): StampDb {
    if (!this.stampDb) {
      const db = new Stamps();
      try {
        const f = JSON.parse(readFileSync(this.stampsPath, 'utf8')) as StampFile;
        const ok = isObj(f) && f.version === 1 && Array.isArray(f.paths) && Array.isArray(f.vals) && f.paths.length === f.vals.length;
        if (ok && f.vals.every((v) => typeof v === 'string' && v.includes(' '))) fillStamps(db, f.paths, f.vals);
      } catch {
        /* none yet, or unreadable: digests are recomputed */
      }
      this.stampDb = db;
    }
    return this.stampDb;
  }

  private load(): void {
    const text = readState(this.snapshotPath);
    let snap: unknown;
    if (text !== undefined) {
      try {
        snap = JSON.parse(text);
      } catch {
        throw new StateCorrupt(this.snapshotPath, 'not JSON');
      }
      if (!isObj(snap)) throw new StateCorrupt(this.snapshotPath, `not a snapshot (${snap === null ? 'null' : typeof snap})`);
    }
    if (isObj(snap) && (snap.version === 4 || snap.version === 3)) {
      const sn = snap as unknown as Snapshot | SnapshotV3;
      if (!isObj(sn.records)) throw new StateCorrupt(this.snapshotPath, `records is ${sn.records === null ? 'null' : typeof sn.records}`);
      for (const [k, v] of Object.entries(sn.records)) {
        const bad = badRecord(v);
        if (bad) throw new StateCorrupt(this.snapshotPath, `${bad} (target ${k})`);
        this.records.set(k, v);
      }
      if (sn.version === 3) {
        // Migrate: the inline stamps become stamps.json at the next save.
        const db = new Stamps();
        if (Array.isArray(sn.stampPaths) && Array.isArray(sn.stampVals)) fillStamps(db, sn.stampPaths, sn.stampVals);
        db.dirty = true;
        this.stampDb = db;
        this.dirty = true;
      }
      if (sn.tools !== undefined && !isObj(sn.tools)) throw new StateCorrupt(this.snapshotPath, 'tools is not an object');
      if (sn.durations !== undefined && !isObj(sn.durations)) throw new StateCorrupt(this.snapshotPath, 'durations is not an object');
      for (const [k, v] of Object.entries(sn.tools ?? {})) if (Array.isArray(v) && v.length === 2) this.tools.set(k, v);
      for (const [k, v] of Object.entries(sn.durations ?? {})) if (typeof v === 'number') this.durations.set(k, v);
    }
    const journal = readState(this.journalPath);
    if (journal === undefined) return;
    // A torn last line (a crash mid-append) is ignored; the next append starts a new line.
    this.journalTorn = journal.length > 0 && !journal.endsWith('\n');
    const lines = journal.split('\n');
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      if (!line) continue;
      this.dirty = true; // fold the journal into the snapshot at the next save
      let j: unknown;
      try {
        j = JSON.parse(line);
      } catch {
        continue; // torn write from a crash: that record never completed
      }
      const where = `line ${i + 1}`;
      if (!isObj(j) || typeof j.name !== 'string') throw new StateCorrupt(this.journalPath, `${where} is not a journal entry (${JSON.stringify(j).slice(0, 40)})`);
      if (j.t === 'rec') {
        const bad = badRecord(j.rec) ?? (typeof j.key === 'string' ? undefined : 'it has no key');
        if (bad) throw new StateCorrupt(this.journalPath, `${where}: ${bad}`);
        const e = j as unknown as Extract<JournalLine, { t: 'rec' }>;
        this.records.set(e.name, e.rec);
        this.newKeys.set(e.name, e.key);
        this.keysDirty = true;
        this.durations.set(e.name, e.rec.durationMs);
      } else if (j.t === 'del') {
        this.records.delete(j.name);
        this.newKeys.set(j.name, null);
        this.keysDirty = true;
      } else throw new StateCorrupt(this.journalPath, `${where} is not a journal entry`);
    }
  }

  /** The journal does not end with a newline (a torn append): the next entry starts with one. */
  private journalTorn = false;

  private append(entry: string): void {
    io('create', this.stateDir, () => mkdirSync(this.stateDir, { recursive: true }));
    io('append to', this.journalPath, () => appendFileSync(this.journalPath, `${this.journalTorn ? '\n' : ''}${entry}\n`));
    this.journalTorn = false;
  }

  private loadKeys(): Map<string, string> {
    if (!this.keys) {
      let obj: Record<string, string> = {};
      try {
        const v: unknown = JSON.parse(readFileSync(this.keysPath, 'utf8'));
        if (isObj(v)) obj = Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
      } catch {
        /* none yet, or damaged: a cache for `why` only */
      }
      this.keys = new Map(Object.entries(obj));
      for (const [k, v] of this.newKeys) {
        if (v === null) this.keys.delete(k);
        else this.keys.set(k, v);
      }
      this.newKeys.clear();
    }
    return this.keys;
  }

  /** The recorded key of a target (parsed), for `why`. */
  keyOf(name: string): CacheKey | undefined {
    const j = this.loadKeys().get(name);
    try {
      return j === undefined ? undefined : (JSON.parse(j) as CacheKey);
    } catch {
      return undefined;
    }
  }

  private keysDirty = false;

  private setKey(name: string, json: string | null): void {
    this.keysDirty = true;
    if (this.keys) {
      if (json === null) this.keys.delete(name);
      else this.keys.set(name, json);
    } else this.newKeys.set(name, json);
  }

  /** Records a success durably (one journal line), then in memory. */
  putRecord(name: string, keyJson: string, rec: TargetRecord): void {
    this.append(JSON.stringify({ t: 'rec', name, rec, key: keyJson }));
    this.dirty = true;
    this.setKey(name, keyJson);
    this.records.set(name, rec);
    this.durations.set(name, rec.durationMs);
  }

  deleteRecord(name: string): void {
    if (!this.records.has(name)) return;
    this.append(JSON.stringify({ t: 'del', name }));
    this.dirty = true;
    this.records.delete(name);
    this.setKey(name, null);
  }

  /** Forgets a record in memory (persisted by the next `save`). */
  forget(name: string): void {
    if (this.records.delete(name)) {
      this.dirty = true;
      this.setKey(name, null);
    }
  }

  markDirty(): void {
    this.dirty = true;
  }

  /** Rewrites the snapshot atomically and empties the journal (no-op when nothing changed). */
  save(): void {
    const stampsDirty = this.stampDb?.dirty === true;
    if (!this.dirty && !stampsDirty) return;
    io('create', this.stateDir, () => mkdirSync(this.stateDir, { recursive: true }));
    if (stampsDirty) {
      // Only a cache of (stamp -> digest) facts: any version of it is correct, so its order vs the snapshot does not matter.
      const paths: string[] = [];
      const vals: string[] = [];
      for (const [k, v] of this.stampDb!) {
        paths.push(k);
        vals.push(`${v[0]} ${v[1]}`);
      }
      const f: StampFile = { version: 1, paths, vals };
      writeAtomic(this.stampsPath, JSON.stringify(f));
      this.stampDb!.dirty = false;
    }
    if (!this.dirty) return;
    const snap: Snapshot = {
      version: 4,
      records: Object.fromEntries(this.records),
      tools: Object.fromEntries(this.tools),
      durations: Object.fromEntries(this.durations),
    };
    // Keys first: a crash before the snapshot rename leaves the journal to replay.
    if (this.keysDirty) {
      const keys = this.loadKeys();
      for (const k of keys.keys()) if (!this.records.has(k)) keys.delete(k);
      writeAtomic(this.keysPath, JSON.stringify(Object.fromEntries(keys)));
      this.keysDirty = false;
    }
    writeAtomic(this.snapshotPath, JSON.stringify(snap));
    io('remove', this.journalPath, () => rmSync(this.journalPath, { force: true }));
    this.dirty = false;
  }
}
