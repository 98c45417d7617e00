/**
 * Checks on what clients of one conversation see: sticky routing on the correlation id, sessions whose
 * version moves on by one per write, and no acknowledged write lost.
 */
import type { AckRecord, RequestRecord } from '../processor.ts';
import { t, counter, type CheckFn } from './context.ts';

export const sessionsChecks: Record<string, CheckFn> = {
  /**
   * Each correlation id answered by one instance only. With `allow_failover: true`, an id may move
   * away from an instance only after that instance was stopped by a fault.
   */
  async sticky(ctx, p) {
    const allowFailover = p['allow_failover'] === true;
    const stops = ctx.data.faults.filter(
      (f) => f.verb === 'kill' || f.verb === 'pause' || f.verb === 'drain',
    );
    const byId = new Map<string, RequestRecord[]>();
    for (const r of ctx.data.requests) {
      if (!r.id || !r.by) continue;
      byId.set(r.id, [...(byId.get(r.id) ?? []), r]);
    }
    const moved: string[] = [];
    for (const [id, rs] of byId) {
      for (let i = 1; i < rs.length; i++) {
        const prev = rs[i - 1]!;
        const cur = rs[i]!;
        if (prev.by === cur.by) continue;
        const excused =
          allowFailover &&
          stops.some((f) => f.target.split(', ').includes(prev.by!) && t(f.time) <= cur.t + cur.d);
        if (!excused) moved.push(`${id}: ${prev.by} -> ${cur.by} at ${new Date(cur.t).toISOString()}`);
      }
    }
    return {
      name: allowFailover
        ? 'correlation ids move only away from a stopped instance'
        : 'every correlation id stays on one instance',
      ok: byId.size > 0 && moved.length === 0,
      summary: `${byId.size} correlation ids, ${moved.length} moved${allowFailover ? ' without a fault' : ''}`,
      details: moved.slice(0, 5),
    };
  },

  /** Sessions continue: no version out of step (processor counter), and the ledger holds (see `ledger`). */
  async sessions(ctx) {
    const broken = counter(ctx, 'phoenix.session.broken');
    const acks = ctx.data.acks.length;
    return {
      name: 'sessions continue correctly (each write and task moves the version on by one)',
      ok: broken === 0 && acks > 0,
      summary: `${acks} acknowledged writes, ${broken} answers with a version out of step`,
    };
  },

  /** Every acknowledged session write is still there afterwards (read back through the load balancer). */
  async ledger(ctx) {
    const last = new Map<string, AckRecord['ack']>();
    for (const a of ctx.data.acks) {
      const prev = last.get(a.ack.sid);
      if (!prev || a.ack.v > prev.v) last.set(a.ack.sid, a.ack);
    }
    if (!ctx.getSession) {
      return {
        name: 'no acknowledged session write lost',
        ok: true,
        summary: 'skipped: no client to read sessions back',
      };
    }
    const lost: string[] = [];
    const entries = [...last.values()];
    const readBack = async (ack: AckRecord['ack']) => {
      let res = await ctx.getSession!(ack.sid);
      for (let i = 0; i < 20 && res.status >= 500; i++) {
        await new Promise((r) => setTimeout(r, 500));
        res = await ctx.getSession!(ack.sid);
      }
      if (res.status !== 200)
        return lost.push(`${ack.sid}: GET answered ${res.status} (acknowledged version ${ack.v})`);
      const body = JSON.parse(res.body) as { version: number; data?: { marker?: string } };
      if (body.version < ack.v) lost.push(`${ack.sid}: version ${body.version} < acknowledged ${ack.v}`);
      else if (body.version === ack.v && body.data?.marker !== ack.m) {
        lost.push(`${ack.sid}: version ${ack.v} holds marker ${body.data?.marker}, acknowledged ${ack.m}`);
      }
    };
    for (let i = 0; i < entries.length; i += 16) await Promise.all(entries.slice(i, i + 16).map(readBack));
    return {
      name: 'no acknowledged session write lost',
      ok: entries.length > 0 && lost.length === 0,
      summary: `${ctx.data.acks.length} acknowledged writes to ${entries.length} sessions read back; ${lost.length} lost`,
      details: lost.slice(0, 5),
    };
  },
};
