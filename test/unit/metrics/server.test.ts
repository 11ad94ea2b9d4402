import { describe, expect, it } from 'vitest';
import { listenErrorMessage } from '../../../src/metrics/server.ts';

function errno(code: string | undefined, message = `${code ?? 'E?'}: something`): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

describe('listenErrorMessage', () => {
  it('says in words why the endpoint cannot listen', () => {
    expect(listenErrorMessage('127.0.0.1', 9839, errno('EADDRINUSE'))).toBe(
      'prometheus: cannot listen on 127.0.0.1:9839: address already in use',
    );
    expect(listenErrorMessage('0.0.0.0', 80, errno('EACCES'))).toBe(
      'prometheus: cannot listen on 0.0.0.0:80: permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)',
    );
    expect(listenErrorMessage('10.9.9.9', 9839, errno('EADDRNOTAVAIL'))).toBe(
      'prometheus: cannot listen on 10.9.9.9:9839: address not available on this host',
    );
  });

  it('brackets IPv6 addresses and falls back to the system message for other errors', () => {
    expect(listenErrorMessage('::1', 9839, errno('EADDRINUSE'))).toBe('prometheus: cannot listen on [::1]:9839: address already in use');
    expect(listenErrorMessage('127.0.0.1', 9839, errno('EMFILE', 'too many open files'))).toBe(
      'prometheus: cannot listen on 127.0.0.1:9839: too many open files',
    );
    expect(listenErrorMessage('127.0.0.1', 9839, errno(undefined, 'odd'))).toBe('prometheus: cannot listen on 127.0.0.1:9839: odd');
  });
});
