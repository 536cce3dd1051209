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
 */
import { appendFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CacheKey } from './key.js';
import type { StampDb } from './hash.js';

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
        if (f.version === 1) fillStamps(db, f.paths, f.vals);
      } catch {
        /* none yet, or unreadable: digests are recomputed */
      }
      this.stampDb = db;
    }
    return this.stampDb;
  }

  private load(): void {
    let snap: Snapshot | SnapshotV3 | undefined;
    try {
      snap = JSON.parse(readFileSync(this.snapshotPath, 'utf8')) as Snapshot | SnapshotV3;
    } catch {
      snap = undefined;
    }
    if (snap && (snap.version === 4 || snap.version === 3)) {
      for (const [k, v] of Object.entries(snap.records)) this.records.set(k, v);
      if (snap.version === 3) {
        // Migrate: the inline stamps become stamps.json at the next save.
        const db = new Stamps();
        fillStamps(db, snap.stampPaths, snap.stampVals);
        db.dirty = true;
        this.stampDb = db;
        this.dirty = true;
      }
      for (const [k, v] of Object.entries(snap.tools ?? {})) this.tools.set(k, v);
      for (const [k, v] of Object.entries(snap.durations ?? {})) this.durations.set(k, v);
    }
    let journal = '';
    try {
      journal = readFileSync(this.journalPath, 'utf8');
    } catch {
      return;
    }
    for (const line of journal.split('\n')) {
      if (!line) continue;
      this.dirty = true; // fold the journal into the snapshot at the next save
      let j: JournalLine;
      try {
        j = JSON.parse(line) as JournalLine;
      } catch {
        continue; // torn write from a crash: that record never completed
      }
      if (j.t === 'rec') {
        this.records.set(j.name, j.rec);
        this.newKeys.set(j.name, j.key);
        this.keysDirty = true;
        this.durations.set(j.name, j.rec.durationMs);
      } else {
        this.records.delete(j.name);
        this.newKeys.set(j.name, null);
        this.keysDirty = true;
      }
    }
  }

  private loadKeys(): Map<string, string> {
    if (!this.keys) {
      let obj: Record<string, string> = {};
      try {
        obj = JSON.parse(readFileSync(this.keysPath, 'utf8')) as Record<string, string>;
      } catch {
        /* none yet */
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
    return j === undefined ? undefined : (JSON.parse(j) as CacheKey);
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
    mkdirSync(this.stateDir, { recursive: true });
    appendFileSync(this.journalPath, `${JSON.stringify({ t: 'rec', name, rec, key: keyJson })}\n`);
    this.dirty = true;
    this.setKey(name, keyJson);
    this.records.set(name, rec);
    this.durations.set(name, rec.durationMs);
  }

  deleteRecord(name: string): void {
    if (!this.records.has(name)) return;
    mkdirSync(this.stateDir, { recursive: true });
    appendFileSync(this.journalPath, `${JSON.stringify({ t: 'del', name })}\n`);
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
    mkdirSync(this.stateDir, { recursive: true });
    if (stampsDirty) {
      // Only a cache of (stamp -> digest) facts: any version of it is correct, so its order vs the snapshot does not matter.
      const paths: string[] = [];
      const vals: string[] = [];
      for (const [k, v] of this.stampDb!) {
        paths.push(k);
        vals.push(`${v[0]} ${v[1]}`);
      }
      const f: StampFile = { version: 1, paths, vals };
      const stmp = `${this.stampsPath}.${process.pid}.tmp`;
      writeFileSync(stmp, JSON.stringify(f));
      renameSync(stmp, this.stampsPath);
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
      const ktmp = `${this.keysPath}.${process.pid}.tmp`;
      writeFileSync(ktmp, JSON.stringify(Object.fromEntries(keys)));
      renameSync(ktmp, this.keysPath);
      this.keysDirty = false;
    }
    const tmp = `${this.snapshotPath}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(snap));
    renameSync(tmp, this.snapshotPath);
    rmSync(this.journalPath, { force: true });
    this.dirty = false;
  }
}
