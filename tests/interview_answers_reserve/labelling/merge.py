import os, yaml, json, sys
from pathlib import Path
S = Path('/work/main/interview/scripts')
key = json.load(open('/tmp/set12/key.json'))
HALVES = {'H1': ['choose-a-message-broker', 'consistency-per-operation', 'exactly-once-payments', 'find-the-bottleneck', 'high-availability-order-platform'],
          'H2': ['ledger-distributed-locking', 'order-placement-without-dual-writes', 'payments-ledger-reconciliation', 'retries-and-thundering-herd', 'travel-booking-saga']}
# H2's planned second labeller (L2b) never wrote its labels; L2c labelled that half instead.
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
        la = yaml.safe_load(open(f'labels/{a_}/{slug}.yaml'))['labels']
        lb = yaml.safe_load(open(f'labels/{b_}/{slug}.yaml'))['labels']
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
json.dump(agreed, open('agreed.json', 'w'), indent=0)
json.dump(disputes, open('disputes.json', 'w'), indent=0)
print('credits agreed', sum(len(v) for v in agreed.values()), 'disputes', len(disputes))
