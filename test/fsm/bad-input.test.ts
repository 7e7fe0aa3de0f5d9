import { describe, expect, it } from 'vitest';
import {
  FlagsWithoutStopCopyError,
  type TransitionRejectedError,
  UnknownFlagError,
  UnknownStateError,
} from '../../src/errors.ts';
import { parseFlags, parseState, requirePath, validateFlags } from '../../src/fsm/index.ts';

describe('bad input to the state machine', () => {
  it('rejects unknown state names and numbers with VFM_UNKNOWN_STATE naming the input', () => {
    for (const bad of ['FOO', '', 'RUNNING_P3', '8', '-1', '2.5'] as const) {
      const err = (() => {
        try {
          parseState(bad);
        } catch (e) {
          return e;
        }
      })() as UnknownStateError;
      expect(err, bad).toBeInstanceOf(UnknownStateError);
      expect(err.code).toBe('VFM_UNKNOWN_STATE');
      expect(err.message).toContain(JSON.stringify(bad));
    }
    expect(() => parseState(8)).toThrow(UnknownStateError);
    expect(() => parseState(-1)).toThrow(UnknownStateError);
  });

  it('accepts names in any case and with dashes, and uAPI numbers', () => {
    expect(parseState('stop-copy')).toBe(3);
    expect(parseState('Pre_Copy_P2P')).toBe(7);
    expect(parseState('5')).toBe(5);
    expect(parseState(0)).toBe(0);
  });

  it('rejects unknown flags with VFM_UNKNOWN_FLAG and flag sets without STOP_COPY with VFM_FLAGS_NO_STOP_COPY', () => {
    expect(() => parseFlags('stop-copy,turbo')).toThrow(/unknown migration flag "turbo"/);
    expect(() => parseFlags('stop-copy,turbo')).toThrow(UnknownFlagError);
    expect(() => validateFlags(9)).toThrow(UnknownFlagError);
    const err = (() => {
      try {
        parseFlags('p2p,pre-copy');
      } catch (e) {
        return e;
      }
    })() as FlagsWithoutStopCopyError;
    expect(err).toBeInstanceOf(FlagsWithoutStopCopyError);
    expect(err.code).toBe('VFM_FLAGS_NO_STOP_COPY');
    expect(err.message).toMatch(/lack STOP_COPY/);
    expect(() => parseFlags('')).toThrow(FlagsWithoutStopCopyError);
  });

  it('parses flag lists in any order and spelling', () => {
    expect(parseFlags('pre-copy, STOP_COPY')).toBe(5);
    expect(parseFlags('all')).toBe(7);
  });

  it('names the reason when a transition is refused', () => {
    const err = (() => {
      try {
        requirePath(1, 2, 5);
      } catch (e) {
        return e;
      }
    })() as TransitionRejectedError;
    expect(err.code).toBe('VFM_TRANSITION_REJECTED');
    expect(err.reason).toBe('unsupported-target');
    expect(err.message).toContain('RUNNING -> RUNNING_P2P');
  });
});
