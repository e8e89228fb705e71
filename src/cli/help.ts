/** The full `manage-key --help` text. */
export const HELP = `manage-key: create, show, rotate and check the API keys of the Qwen API server.

Usage: manage-key [COMMAND] [--key-file FILE] [options]

Commands (also spelled -Generate, --generate, ... in any case, as the PowerShell tool took them):
  show                     Print the current key alone on stdout (the default command),
                           so KEY=$(manage-key show) works. With no key file it prints the
                           key a server started here would use: QWEN_API_KEY, else with
                           NODE_ENV=development the fixed development key (a note on stderr
                           says which); otherwise it fails, naming the path it looked at.
  generate [--force]       Create a key and log it "Generated"; prints it alone on stdout.
                           Refuses when a key exists, unless --force, and, without
                           --key-file or QWEN_API_KEY_FILE, in a directory with no api/.
  rotate [--grace D | --revoke]
                           Log the old key "Rotated (replaced)", save a new key, log it
                           "Rotated (new)" and print it alone on stdout.
                           --grace D   the old key stays valid for D after this rotation
                                       (overrides the server's --grace for this rotation).
                           --revoke    the old key ends at once (a leaked key), whatever
                                       the server's grace.
                           Without either, the server's own grace (QWEN_KEY_GRACE) applies.
                           A --grace longer than --max-grace D (QWEN_MAX_GRACE, 7d) is
                           refused: servers cut every window to their --max-grace.
                           A key file missing, empty or invalid: the history's current key,
                           which running servers keep, is the one replaced (a note says so).
  history [--json]         The history with keys masked (abc123...xyz789); --json for scripts.
                           CURRENT ACTIVE KEY is the history's latest Generated or Rotated
                           (new) entry; a key file edited by hand is named in a note.
  status [--grace D] [--max-grace D] [--json]
                           From the files alone: which keys are valid now, until when, and
                           how old the current key is. --grace (or QWEN_KEY_GRACE) is the
                           server's default window, assumed when a rotation set none;
                           --max-grace (QWEN_MAX_GRACE, 7d) the longest window servers honour.
                           Also how many named keys are active and which expire within 7 days.
  test [--url URL] [--previous] [--grace D] [--max-grace D]
       [--ca FILE] [--cert FILE --cert-key FILE]
                           Ask the running server whether it accepts the current key on
                           /api/v1/health: at --url, else where a server started with the same
                           environment listens (http://HOST:PORT from HOST and PORT; 0.0.0.0
                           and :: are asked on loopback), else http://127.0.0.1:8000. With
                           --previous, the previous key too: accepted inside its window,
                           refused if revoked (never sent unless asked). Redirects are
                           reported, never followed; a URL neither loopback nor https gets a
                           warning. Prints fingerprints only. Exit 0 only when every answer
                           is as expected.
                           --ca FILE   for an https:// URL whose certificate comes from a
                                       private CA: trust that CA's PEM certificate.
                           --cert FILE --cert-key FILE
                                       for an https:// server that requires client
                                       certificates (its --tls-ca): present this PEM
                                       certificate, with its private key.

Named keys, one per client, beside the static key (PowerShell: -Add NAME, -List, -Remove NAME):
  add NAME [--expires D]   Create a key for NAME and print it alone on stdout, once: only its
                           SHA-256 digest is kept. Names: 1-63 of a-z 0-9 . _ -, starting with
                           a letter or digit; "default" (the static key) and "other" are taken.
  list [--json]            Each name, fingerprint, creation time, expiry and state; never a key.
  remove NAME              End NAME's key (and any previous key of it) at once.
  rotate NAME [--grace D | --revoke] [--expires D]
                           Give NAME a new key, printed once; the old key's window as for the
                           static key. --expires gives the new key a new lifetime from now.
  --clients-file FILE      The clients file (PowerShell: -ClientsFile). Default:
                           $QWEN_API_CLIENTS_FILE, else .api_clients beside the key file.

Options:
  --key-file FILE          The key file (PowerShell: -KeyFile). Default: $QWEN_API_KEY_FILE,
                           else api/.api_key relative to the current directory. The history is
                           FILE_history next to it (api/.api_key_history).
  -h, --help, help         This help.
  --version                The version.

Durations: 0, 90s, 10m, 24h, 90d.

Files: the key file holds one key on one line; the history has one line per event,
"YYYY-MM-DD HH:MM:SS | Action | Key" in local time, with the actions Generated,
Rotated (replaced), Rotated (new), Revoked and "Grace until <UTC time>", and for named keys
"Client added (NAME)", "Client rotated (NAME)", "Client replaced (NAME)" and "Client removed
(NAME)" with the key's fingerprint. The clients file holds digests, never keys. All are mode
0600 after every write. Writes refuse a symlink leading out of the key's directory, a file of
another user, and a directory others can write; readers warn when others can write the files.
Running servers pick up a new key file by themselves; no restart is needed.

Exit status: 0 success; 1 failure, with one line on stderr (among them: no key file or no
history where it looked, named in full; a key exists; no api/ directory for generate);
2 usage error.
`;
