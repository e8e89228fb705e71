// The relay driven as undici drives it (onRequestStart, onResponseStart, onResponseData, onResponseEnd,
// onResponseError), against a stand-in response whose backpressure the test decides, and fake timers for
// the write timeout: the end-to-end behaviour is in client-pace.test.ts and forwarder.test.ts.
import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import sinon from 'sinon';
import type { Dispatcher } from 'undici';
import { ResponseRelay } from '../../src/proxy/response-relay.js';

/** A ServerResponse as the relay uses it: write (true while the client keeps up), end, destroy, events. */
class FakeResponse extends EventEmitter {
  writableEnded = false;
  destroyedWith: Error | undefined | null = null;
  written: string[] = [];
  keepsUp = true;
  constructor(readonly req: { method: string }) { super(); }
  write(chunk: Buffer): boolean { this.written.push(chunk.toString()); return this.keepsUp; }
  end(): void { this.writableEnded = true; }
  destroy(error?: Error): void { this.destroyedWith = error; }
}

/** The controller undici hands the handler, recording what was asked of it. */
class FakeController {
  calls: string[] = [];
  abortReason: unknown;
  abort(reason: Error): void { this.calls.push('abort'); this.abortReason = reason; }
  pause(): void { this.calls.push('pause'); }
  resume(): void { this.calls.push('resume'); }
}

function relayFor(method = 'GET', writeTimeoutMs = 50) {
  const res = new FakeResponse({ method });
  const heads: Array<[number, IncomingHttpHeaders]> = [];
  const relay = new ResponseRelay(res as unknown as ServerResponse, writeTimeoutMs, (status, headers) => heads.push([status, headers]));
  const controller = new FakeController();
  const ctl = controller as unknown as Dispatcher.DispatchController;
  let settled = 'pending';
  relay.done.then(() => (settled = 'resolved'), (err: Error) => (settled = `rejected: ${err.message}`));
  return { res, relay, controller, ctl, heads, settled: async () => { await Promise.resolve(); await Promise.resolve(); return settled; } };
}

describe('ResponseRelay: cancel', () => {
  it('cancelled before the request started, aborts it with the first reason as soon as it starts', () => {
    const { relay, controller, ctl } = relayFor();
    const first = new Error('client closed request');
    relay.cancel(first);
    relay.cancel(new Error('a later reason'));
    expect(controller.calls).to.deep.equal([]);
    relay.onRequestStart(ctl);
    expect(controller.calls).to.deep.equal(['abort']);
    expect(controller.abortReason).to.equal(first);
  });

  it('cancelled once started, aborts the exchange with the reason', () => {
    const { relay, controller, ctl } = relayFor();
    relay.onRequestStart(ctl);
    expect(controller.calls, 'not cancelled').to.deep.equal([]);
    const reason = new Error('client closed request');
    relay.cancel(reason);
    expect(controller.calls).to.deep.equal(['abort']);
    expect(controller.abortReason).to.equal(reason);
  });
});

describe('ResponseRelay: the answer', () => {
  it('passes over an informational 1xx answer and relays the final one', () => {
    const { relay, res, ctl, heads } = relayFor();
    relay.onRequestStart(ctl);
    relay.onResponseStart(ctl, 103, { link: '</style.css>; rel=preload' });
    expect(heads, 'after 103').to.deep.equal([]);
    expect(relay.started, 'after 103').to.equal(false);
    relay.onResponseStart(ctl, 200, { 'content-type': 'text/plain' });
    expect(heads).to.deep.equal([[200, { 'content-type': 'text/plain' }]]);
    expect(relay.started).to.equal(true);
    expect(res.writableEnded, 'a body follows').to.equal(false);
  });

  it('writes the body and ends the answer at its end', async () => {
    const { relay, res, ctl, settled } = relayFor();
    relay.onRequestStart(ctl);
    relay.onResponseStart(ctl, 200, { 'content-length': '5' });
    relay.onResponseData(ctl, Buffer.from('hel'));
    relay.onResponseData(ctl, Buffer.from('lo'));
    expect(await settled(), 'before the end').to.equal('pending');
    relay.onResponseEnd();
    expect(res.written).to.deep.equal(['hel', 'lo']);
    expect(res.writableEnded).to.equal(true);
    expect(await settled()).to.equal('resolved');
  });

  for (const [method, status] of [['HEAD', 200], ['GET', 204], ['GET', 304]] as const) {
    it(`completes a ${method} answered ${status} at its headers, whatever Content-Length says`, async () => {
      const { relay, res, ctl, settled } = relayFor(method);
      relay.onRequestStart(ctl);
      relay.onResponseStart(ctl, status, { 'content-length': '1000' });
      expect(res.writableEnded).to.equal(true);
      expect(await settled()).to.equal('resolved');
    });
  }

  it('ignores an upstream error after the answer is complete, leaving the connection open', async () => {
    const { relay, res, ctl, settled } = relayFor('HEAD');
    relay.onRequestStart(ctl);
    relay.onResponseStart(ctl, 200, { 'content-length': '1000' });
    relay.onResponseError(ctl, new Error('other side closed'));
    expect(res.destroyedWith).to.equal(null);
    expect(await settled()).to.equal('resolved');
  });

  it('cuts the client off when the upstream fails mid-answer, and rejects with the error', async () => {
    const { relay, res, ctl, settled } = relayFor();
    relay.onRequestStart(ctl);
    relay.onResponseStart(ctl, 200, { 'content-length': '1000' });
    const error = new Error('other side closed');
    relay.onResponseError(ctl, error);
    expect(res.destroyedWith).to.equal(error);
    expect(await settled()).to.equal('rejected: other side closed');
  });

  it('leaves the client\'s response to the caller when the upstream fails before answering', async () => {
    const { relay, res, ctl, settled } = relayFor();
    relay.onRequestStart(ctl);
    relay.onResponseError(ctl, new Error('connect ECONNREFUSED'));
    expect(res.destroyedWith).to.equal(null);
    expect(await settled()).to.equal('rejected: connect ECONNREFUSED');
  });
});

describe('ResponseRelay: a client slower than the upstream', () => {
  let clock: sinon.SinonFakeTimers;
  beforeEach(() => { clock = sinon.useFakeTimers(); });
  afterEach(() => clock.restore());

  function slowClient() {
    const r = relayFor('GET', 50);
    r.relay.onRequestStart(r.ctl);
    r.relay.onResponseStart(r.ctl, 200, {});
    r.res.keepsUp = false;
    return r;
  }

  it('pauses the upstream while the client is behind, and resumes it when the client drains', () => {
    const { relay, res, controller, ctl } = slowClient();
    relay.onResponseData(ctl, Buffer.from('chunk'));
    expect(controller.calls).to.deep.equal(['pause']);
    res.emit('drain');
    expect(controller.calls).to.deep.equal(['pause', 'resume']);
  });

  it('closes both sides when the client reads nothing for the write timeout', () => {
    const { relay, res, controller, ctl } = slowClient();
    relay.onResponseData(ctl, Buffer.from('chunk'));
    clock.tick(49);
    expect(relay.stalled, 'before the timeout').to.equal(false);
    expect(controller.calls, 'before the timeout').to.deep.equal(['pause']);
    clock.tick(1);
    expect(relay.stalled).to.equal(true);
    expect(res.destroyedWith?.message).to.equal('client read nothing for 50 ms');
    expect(controller.calls).to.deep.equal(['pause', 'abort']);
    expect(controller.abortReason).to.equal(res.destroyedWith);
  });

  it('forgets the write timeout once the client drains, leaving no listener behind', () => {
    const { relay, res, controller, ctl } = slowClient();
    const closeListeners = res.listenerCount('close');
    relay.onResponseData(ctl, Buffer.from('chunk'));
    res.emit('drain');
    expect(res.listenerCount('close'), 'close listeners').to.equal(closeListeners);
    expect(res.listenerCount('drain'), 'drain listeners').to.equal(0);
    clock.tick(1000);
    expect(relay.stalled).to.equal(false);
    expect(controller.calls).to.deep.equal(['pause', 'resume']);
  });

  it('forgets the write timeout once the response is closed', () => {
    const { relay, res, controller, ctl } = slowClient();
    relay.onResponseData(ctl, Buffer.from('chunk'));
    res.emit('close');
    clock.tick(1000);
    expect(relay.stalled).to.equal(false);
    expect(res.destroyedWith).to.equal(null);
    expect(controller.calls).to.deep.equal(['pause']);
  });
});
