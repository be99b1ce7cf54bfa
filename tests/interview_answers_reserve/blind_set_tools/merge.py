import os, yaml, json, sys
from pathlib import Path
# Run from a copy in the set's working folder (e.g. /tmp/set13): every file it reads or writes is beside it.
HERE = Path(__file__).resolve().parent
S = Path(os.environ.get('REPO', '/work/main')) / 'interview' / 'scripts'
key = json.load(open(HERE / 'key.json'))
HALVES = {'H1': ['choose-a-message-broker', 'consistency-per-operation', 'exactly-once-payments', 'find-the-bottleneck', 'high-availability-order-platform'],
          'H2': ['ledger-distributed-locking', 'order-placement-without-dual-writes', 'payments-ledger-reconciliation', 'retries-and-thundering-herd', 'travel-booking-saga']}
# The two labellers of each half (a third, or a replacement, is named here instead).
PAIRS = {'H1': ('L1a', 'L1b'), 'H2': ('L2a', 'L2b')}
# ONLY=H1 or ONLY=H2 merges one half, when the other is not labelled yet.
HALVES = {h: v for h, v in HALVES.items() if h in os.environ.get('ONLY', 'H1 H2').split()}
rubric = {}
for f in S.glob('*.yaml'):
    sc = yaml.safe_load(f.read_text())
    rubric[sc['slug']] = [[it['id'] for it in p['rubric']] for p in sc['prompts']]
agreed, disputes = {}, []
for h, slugs in HALVES.items():
    a_, b_ = PAIRS[h]
    n = agree = both = only_a = only_b = 0
    for slug in slugs:
        la = yaml.safe_load(open(HERE / f'labels/{a_}/{slug}.yaml'))['labels']
        lb = yaml.safe_load(open(HERE / f'labels/{b_}/{slug}.yaml'))['labels']
        for aid, k in key.items():
            if k['script'] != slug: continue
            A, B = set(la[aid]), set(lb[aid])
            agreed[aid] = sorted(A & B)
            for item in rubric[slug][k['prompt'] - 1]:
                n += 1
                x, y = item in A, item in B
                agree += x == y; both += x and y
                if x != y:
                    disputes.append({'id': aid, 'item': item, 'by': a_ if x else b_})
                only_a += x and not y; only_b += y and not x
    pa = (both + only_a) / n; pb = (both + only_b) / n
    pe = pa * pb + (1 - pa) * (1 - pb); po = agree / n
    print(h, f'agreement {agree}/{n} = {po:.3f}, kappa {(po - pe) / (1 - pe):.3f}, disputes {n - agree}')
json.dump(agreed, open(HERE / 'agreed.json', 'w'), indent=0)
json.dump(disputes, open(HERE / 'disputes.json', 'w'), indent=0)
print('credits agreed', sum(len(v) for v in agreed.values()), 'disputes', len(disputes))
