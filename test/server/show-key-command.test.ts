import { expect } from 'chai';
import { showKeyCommand } from '../../src/server/show-key-command.js';

describe('showKeyCommand', () => {
  const repoRoot = '/srv/qwen-key-daemon';

  it('from the checkout with the default key file: scripts/manage-key show, as the README says', () => {
    expect(showKeyCommand({ cwd: repoRoot, repoRoot, keyFile: 'api/.api_key' })).to.equal('scripts/manage-key show');
  });

  it('from the checkout with another key file: names that file in full', () => {
    expect(showKeyCommand({ cwd: repoRoot, repoRoot, keyFile: 'keys/k' })).to.equal(`scripts/manage-key show --key-file ${repoRoot}/keys/k`);
  });

  it('from elsewhere: the wrapper and the key file by absolute paths', () => {
    expect(showKeyCommand({ cwd: '/tmp/run', repoRoot, keyFile: 'api/.api_key' }))
      .to.equal(`${repoRoot}/scripts/manage-key show --key-file /tmp/run/api/.api_key`);
  });

  it('quotes paths a shell would split', () => {
    expect(showKeyCommand({ cwd: "/home/o'neil/my dir", repoRoot: '/opt/q d', keyFile: 'api/.api_key' }))
      .to.equal(`'/opt/q d/scripts/manage-key' show --key-file '/home/o'\\''neil/my dir/api/.api_key'`);
  });
});
