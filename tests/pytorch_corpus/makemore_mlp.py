"""Follows karpathy/nn-zero-to-hero, lectures/makemore/makemore_part2_mlp.ipynb (makemore part
2, after Bengio et al. 2003): a character-level MLP language model with a block of 3
characters, an embedding table C indexed as C[X], emb.view(-1, 30) @ W1 + b1 through
torch.tanh, F.cross_entropy, parameters drawn with a torch.Generator, p.grad = None and
p.data += -lr * p.grad, and the train/dev split by random.shuffle.

names.txt is replaced by synthetic names (syllables drawn with Python's random, seed 42) and
the 200000 steps by 3000, so that it runs in seconds. Seed from JITGRAD_CORPUS_SEED. Last line:
RESULT makemore_mlp=<dev loss>.
"""
import os
import random

import torch
import torch.nn.functional as F

SEED = int(os.environ.get("JITGRAD_CORPUS_SEED", "0"))
torch.manual_seed(SEED)


def synthetic_names(count):
    rnd = random.Random(42)
    onsets = ["b", "d", "k", "l", "m", "n", "r", "s", "t", "v", "z", "sh", "ch", "j"]
    vowels = ["a", "e", "i", "o", "u", "ia", "ae", "y"]
    codas = ["", "", "", "n", "l", "r", "s", "h"]
    return ["".join(rnd.choice(onsets) + rnd.choice(vowels) + rnd.choice(codas)
                    for _ in range(rnd.randint(1, 3))) for _ in range(count)]


words = synthetic_names(2000)
chars = sorted(list(set("".join(words))))
stoi = {s: i + 1 for i, s in enumerate(chars)}
stoi["."] = 0
itos = {i: s for s, i in stoi.items()}
vocab_size = len(itos)

block_size = 3  # how many characters predict the next one


def build_dataset(words):
    X, Y = [], []
    for w in words:
        context = [0] * block_size
        for ch in w + ".":
            ix = stoi[ch]
            X.append(context)
            Y.append(ix)
            context = context[1:] + [ix]  # crop and append
    X = torch.tensor(X)
    Y = torch.tensor(Y)
    print(X.shape, Y.shape)
    return X, Y


random.seed(42)
random.shuffle(words)
n1 = int(0.8 * len(words))
n2 = int(0.9 * len(words))
Xtr, Ytr = build_dataset(words[:n1])
Xdev, Ydev = build_dataset(words[n1:n2])
Xte, Yte = build_dataset(words[n2:])

g = torch.Generator().manual_seed(2147483647 + SEED)
C = torch.randn((vocab_size, 10), generator=g)
W1 = torch.randn((30, 200), generator=g) * 0.2
b1 = torch.randn(200, generator=g) * 0.01
W2 = torch.randn((200, vocab_size), generator=g) * 0.01
b2 = torch.randn(vocab_size, generator=g) * 0
parameters = [C, W1, b1, W2, b2]
print(sum(p.nelement() for p in parameters))  # number of parameters in total
for p in parameters:
    p.requires_grad = True

lossi = []
stepi = []
for i in range(3000):
    # minibatch
    ix = torch.randint(0, Xtr.shape[0], (32,), generator=g)

    # forward pass
    emb = C[Xtr[ix]]  # (32, 3, 10)
    h = torch.tanh(emb.view(-1, 30) @ W1 + b1)  # (32, 200)
    logits = h @ W2 + b2  # (32, vocab_size)
    loss = F.cross_entropy(logits, Ytr[ix])

    # backward pass
    for p in parameters:
        p.grad = None
    loss.backward()

    # update
    lr = 0.1 if i < 2000 else 0.01
    for p in parameters:
        p.data += -lr * p.grad

    stepi.append(i)
    lossi.append(loss.log10().item())


@torch.no_grad()
def split_loss(X, Y):
    emb = C[X]
    h = torch.tanh(emb.view(-1, 30) @ W1 + b1)
    logits = h @ W2 + b2
    return F.cross_entropy(logits, Y).item()


dev_loss = split_loss(Xdev, Ydev)
print("train", split_loss(Xtr, Ytr), "dev", dev_loss)

# sample from the model
for _ in range(5):
    out = []
    context = [0] * block_size
    while True:
        emb = C[torch.tensor([context])]  # (1, block_size, d)
        h = torch.tanh(emb.view(1, -1) @ W1 + b1)
        logits = h @ W2 + b2
        probs = F.softmax(logits, dim=1)
        ix = torch.multinomial(probs, num_samples=1, generator=g).item()
        context = context[1:] + [ix]
        out.append(ix)
        if ix == 0 or len(out) > 20:
            break
    print("".join(itos[i] for i in out))
print(f"RESULT makemore_mlp={dev_loss:.5f}")
