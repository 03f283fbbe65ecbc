#!/usr/bin/env python3
# bench/popularity_score.py: which popularity score reproduces the issue's
# reference NDCG@10 (0.1806 on ml-100k, 0.1557 on ml-latest-small, hash
# split)?  An independent plain-Python implementation of the evaluation
# definitions in doc/evaluation.md (no movierec code): rank every training movie
# a user did not rate in training by training count, or by a damped mean
# with damping m, ties by smaller movie_id; k = 10, relevant = rating >= 4.
#   python3 bench/popularity_score.py $MOVIELENS_DIR/ml-100k/u.data \
#       $MOVIELENS_DIR/ml-latest-small/ratings.csv
import collections
import math
import sys


def load(path):
    """(user, movie, rating) triples of u.data (tabs) or ratings.csv."""
    rows = []
    with open(path) as f:
        if path.endswith('.csv'):
            next(f)
            for line in f:
                u, i, r, _ = line.strip().split(',')
                rows.append((int(u), int(i), float(r)))
        else:
            for line in f:
                u, i, r, _ = line.split('\t')
                rows.append((int(u), int(i), float(r)))
    return rows


def hash_split(rows):
    """The issue's hash split: test iff ((u*100003 + i)*48271) % 2147483647 % 5 == 0."""
    train, test = [], []
    for u, i, r in rows:
        (test if ((u * 100003 + i) * 48271) % 2147483647 % 5 == 0 else train).append((u, i, r))
    return train, test


def ndcg_coverage(train, test, score, k=10, relevant_min=4.0):
    """Mean NDCG@k over users with a relevant test item, coverage@k, users."""
    seen = collections.defaultdict(set)
    items = set()
    for u, i, _ in train:
        seen[u].add(i)
        items.add(i)
    relevant = collections.defaultdict(set)
    for u, i, r in test:
        if r >= relevant_min:
            relevant[u].add(i)
    order = sorted(items, key=lambda i: (-score[i], i))
    total, covered = 0.0, set()
    for u, rel in relevant.items():
        top = []
        for i in order:
            if i not in seen[u]:
                top.append(i)
                if len(top) == k:
                    break
        covered.update(top)
        dcg = sum(1 / math.log2(r + 2) for r, i in enumerate(top) if i in rel)
        idcg = sum(1 / math.log2(r + 2) for r in range(min(k, len(rel))))
        total += dcg / idcg
    return total / len(relevant), len(covered) / len(items), len(relevant)


for path in sys.argv[1:]:
    train, test = hash_split(load(path))
    count = collections.Counter(i for _, i, _ in train)
    sums = collections.defaultdict(float)
    for _, i, r in train:
        sums[i] += r
    mu = sum(r for _, _, r in train) / len(train)
    print(path, 'train', len(train), 'test', len(test))
    print('  count          ndcg %.4f coverage %.4f users %d' % ndcg_coverage(train, test, count))
    for m in (0, 5, 10, 20, 50, 100):
        damped = {i: (sums[i] + m * mu) / (count[i] + m) for i in count}
        print('  damped m=%-4d  ndcg %.4f coverage %.4f users %d' % ((m,) + ndcg_coverage(train, test, damped)))
