// The parts of autocannon's programmatic API the benchmark uses (the package ships no types).
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  interface RequestParams { method?: string; path?: string; headers?: Record<string, string>; body?: string }
  interface AutocannonRequest extends RequestParams { setupRequest?: (req: RequestParams) => RequestParams }
  interface Options {
    url: string;
    connections?: number;
    pipelining?: number;
    duration?: number;
    amount?: number;
    /** Requests per second across all connections. */
    overallRate?: number;
    timeout?: number;
    headers?: Record<string, string>;
    method?: string;
    requests?: AutocannonRequest[];
  }
  interface Histogram { average: number; mean: number; p50: number; p90: number; p99: number; max: number; min: number }
  interface Result {
    requests: Histogram & { total: number; sent: number };
    latency: Histogram;
    throughput: Histogram;
    errors: number;
    timeouts: number;
    non2xx: number;
    duration: number;
    '2xx': number;
  }
  interface Instance extends EventEmitter { stop(): void }
  function autocannon(options: Options, callback: (err: Error | null, result: Result) => void): Instance;
  export default autocannon;
  export type { Options, Result, Instance };
}
