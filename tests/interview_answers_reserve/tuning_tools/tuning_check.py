"""Snapshot (--write) or compare the tuning set's credited items per answer, in REPO (env)."""
import os, sys, json
exec(open('/tmp/tune/ev.py').read().split("mode = sys.argv")[0])
SNAP = '/tmp/tune/tuning_snapshot.json'
r = q.evaluate(A)
now = {x['answer'].name: sorted(x['predicted']) for x in r['rows']}
if '--write' in sys.argv:
    json.dump(now, open(SNAP, 'w'), indent=0); print('written', len(now)); raise SystemExit
old = json.load(open(SNAP))
diff = [(k, old.get(k), now.get(k)) for k in sorted(set(old) | set(now)) if old.get(k) != now.get(k)]
for k, a, b in diff:
    print('CHANGED', k, 'was', a, 'now', b)
print('tuning set unchanged' if not diff else f'{len(diff)} tuning answers changed')
