import { describe, it, expect } from 'vitest';
import { PROFILES, PROFILE_IDS, getProfile, isProfileId } from '../../../board/profiles.ts';

describe('board profiles', () => {
  it('has exactly one profile per id', () => {
    expect(PROFILES.map((p) => p.id)).toEqual([...PROFILE_IDS]);
    for (const id of PROFILE_IDS) expect(getProfile(id).id).toBe(id);
  });

  it('gives each profile its role', () => {
    expect(Object.fromEntries(PROFILES.map((p) => [p.id, p.role]))).toEqual({
      'pi-router': 'router',
      'pi-bridge': 'bridge',
      'openwrt-dsa': 'router',
      generic: 'host',
    });
  });

  it("sets netdata's conntrack levels, with each clear level below its raise level", () => {
    for (const p of PROFILES) {
      const nat = p.defaults.alarms?.natTable;
      expect(nat, p.id).toEqual({ warnPct: 90, warnClearPct: 85, critPct: 95, critClearPct: 90 });
      expect(nat!.warnClearPct!).toBeLessThan(nat!.warnPct!);
      expect(nat!.critClearPct!).toBeLessThan(nat!.critPct!);
      expect(nat!.warnPct!).toBeLessThan(nat!.critPct!);
    }
  });

  it('cannot be changed by a careless merge', () => {
    const nat = getProfile('pi-router').defaults.alarms!.natTable!;
    expect(() => {
      nat.warnPct = 50;
    }).toThrow(TypeError);
    expect(getProfile('generic').defaults.alarms!.natTable).not.toBe(nat);
  });

  it('recognises ids, not "auto"', () => {
    expect(isProfileId('openwrt-dsa')).toBe(true);
    expect(isProfileId('auto')).toBe(false);
    expect(isProfileId('Pi-Router')).toBe(false);
  });
});
