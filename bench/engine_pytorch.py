"""The engine benchmark's PyTorch side: the same three workloads as bench/engine-cases.ts.

Usage: python3 bench/engine_pytorch.py <case>  → one JSON line {case, values, unit, rssMb}.
Same networks, batches and thread count as Atelier (torch.set_num_threads from ATELIER_THREADS,
OpenBLAS at 1 thread through the environment the runner sets).
"""
import json
import os
import resource
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

which = sys.argv[1]
reps = int(os.environ.get("BENCH_REPS", "7"))
torch.set_num_threads(int(os.environ.get("ATELIER_THREADS", "2")))
# BENCH_DEVICE=cuda (bench/gpu.sh): the same cases on the GPU, timed after torch.cuda.synchronize()
dev = torch.device(os.environ.get("BENCH_DEVICE", "cpu"))
bf16 = os.environ.get("BENCH_PRECISION") == "bf16"
N_ITEMS, N_USERS = 1000, 1000
S = 224 if which == "dvbpr-paper-step" else 64
g = torch.Generator().manual_seed(0)
catalogue = torch.randint(0, 256, (N_ITEMS, S, S, 3), generator=g).to(torch.uint8).to(dev)


def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def to_input(u8):
    return u8.float().permute(0, 3, 1, 2) / 127.5 - 1


class Encoder(nn.Module):
    """The default preset's four strided convs (64 px, K 100), or the paper preset's CNN-F (224 px, K 50)."""

    def __init__(self, paper=False):
        super().__init__()
        if paper:
            spec = [(64, 11, 4, True), (256, 5, 1, True), (256, 3, 1, False), (256, 3, 1, False), (256, 3, 1, True)]
            hidden, k = [4096, 4096], 50
        else:
            spec = [(32, 5, 2, False), (64, 3, 2, False), (128, 3, 2, False), (256, 3, 2, False)]
            hidden, k = [], 100
        convs, c, s = [], 3, S
        for out, kern, stride, _ in spec:
            convs.append(nn.Conv2d(c, out, kern, stride, kern // 2))
            c, s = out, (s + 2 * (kern // 2) - kern) // stride + 1
            if _:
                s //= 2
        self.pools = [p for *_, p in spec]
        self.convs = nn.ModuleList(convs)
        d = c * s * s
        self.hidden = nn.ModuleList()
        for h in hidden:
            self.hidden.append(nn.Linear(d, h))
            d = h
        self.drop = nn.Dropout(0.5)
        self.out = nn.Linear(d, k)
        self.k = k
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        for c, pool in zip(self.convs, self.pools):
            x = F.relu(c(x))
            if pool:
                x = F.max_pool2d(x, 2)
        x = x.reshape(x.shape[0], -1)
        for h in self.hidden:
            x = self.drop(F.relu(h(x)))
        return self.out(x if self.hidden else self.drop(x))


def measure(fn, per_run, warm, steps):
    for _ in range(warm):
        fn()
    sync()
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(steps):
            fn()
        sync()
        out.append(per_run * steps / (time.perf_counter() - t0))
    return out


if which in ("dvbpr-step", "dvbpr-paper-step"):
    enc = Encoder(paper=which == "dvbpr-paper-step").to(dev)
    theta = nn.Parameter((torch.rand(N_USERS, enc.k) * 0.01).to(dev))
    opt = torch.optim.Adam(list(enc.parameters()) + [theta], lr=1e-4)
    weights = [c.weight for c in enc.convs] + [h.weight for h in enc.hidden] + [enc.out.weight]

    def step():
        u = torch.randint(0, N_USERS, (64,), device=dev)
        i = torch.randint(0, N_ITEMS, (64,), device=dev)
        j = torch.randint(0, N_ITEMS, (64,), device=dev)
        opt.zero_grad(set_to_none=True)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
            phi = enc(to_input(torch.cat([catalogue.index_select(0, i), catalogue.index_select(0, j)])))
        tu = theta.index_select(0, u)
        x = (tu * (phi[:64] - phi[64:])).sum(1)
        loss = F.softplus(-x).sum() + 1e-3 * 0.5 * sum((w * w).sum() for w in weights) + 0.5 * (tu * tu).sum()
        loss.backward()
        opt.step()

    values, unit = measure(step, 128, 5, 10), "images/s"
elif which == "encoder-inference":
    enc = Encoder().to(dev).eval()
    batch = catalogue[:256]

    def infer():
        with torch.no_grad(), torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
            enc(to_input(batch)).float().cpu().numpy()

    values, unit = measure(infer, 256, 3, 10), "images/s"
elif which in ("dcgan-step", "dcgan-paper-step"):
    Z, C, B = (128, 10, 64) if which == "dcgan-step" else (256, 10, 16)

    class G(nn.Module):
        def __init__(self):
            super().__init__()
            self.dense = nn.Linear(Z + C, 16 * 256)
            self.bn0 = nn.BatchNorm2d(256)
            chans = [256, 128, 64, 32, 3]
            self.ups = nn.ModuleList([nn.ConvTranspose2d(chans[k], chans[k + 1], 3, 2, 1, 1) for k in range(4)])
            self.bns = nn.ModuleList([nn.BatchNorm2d(chans[k + 1]) for k in range(3)])

        def forward(self, z, c):
            h = F.leaky_relu(self.bn0(self.dense(torch.cat([z, c], 1)).reshape(-1, 256, 4, 4)), 0.2)
            for k, up in enumerate(self.ups):
                h = up(h)
                h = F.leaky_relu(self.bns[k](h), 0.2) if k < 3 else torch.tanh(h)
            return h

    class D(nn.Module):
        def __init__(self):
            super().__init__()
            chans = [3, 64, 128, 256, 512]
            self.convs = nn.ModuleList([nn.Conv2d(chans[k] + C, chans[k + 1], 5, 2, 2) for k in range(4)])
            self.bns = nn.ModuleList([nn.BatchNorm2d(chans[k + 1]) for k in range(1, 4)])
            self.out = nn.Linear(512 * 4 * 4 + C, 1)

        def forward(self, x, c):
            h, s = x, x.shape[2]
            for k, conv in enumerate(self.convs):
                h = conv(torch.cat([h, c.reshape(-1, C, 1, 1).expand(-1, C, s, s)], 1))
                h = F.leaky_relu(self.bns[k - 1](h) if k > 0 else h, 0.2)
                s //= 2
            return self.out(torch.cat([h.reshape(h.shape[0], -1), c], 1)).reshape(-1)

    gnet, dnet = G().to(dev), D().to(dev)
    for m in list(gnet.modules()) + list(dnet.modules()):
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0, 0.02)
            nn.init.zeros_(m.bias)
    lr = 2e-4 if which == "dcgan-step" else 1e-4
    optD = torch.optim.Adam(dnet.parameters(), lr=lr, betas=(0.5, 0.99))
    optG = torch.optim.Adam(gnet.parameters(), lr=lr, betas=(0.5, 0.99))

    def step():
        idx = torch.randint(0, N_ITEMS, (B,), device=dev)
        c = F.one_hot(torch.arange(B, device=dev) % C, C).float()
        optD.zero_grad(set_to_none=True)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
            with torch.no_grad():
                fake = gnet(torch.randn(B, Z, device=dev), c)
            ld = 0.5 * ((dnet(to_input(catalogue.index_select(0, idx)), c) - 1).pow(2).mean() + dnet(fake, c).pow(2).mean())
        ld.backward()
        optD.step()
        optG.zero_grad(set_to_none=True)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=bf16):
            lg = (dnet(gnet(torch.randn(B, Z, device=dev), c), c) - 1).pow(2).mean()
        lg.backward()
        optG.step()
        dnet.zero_grad(set_to_none=True)
        ld.item(), lg.item()

    values, unit = (measure(step, 1, 2, 3) if B == 64 else measure(step, 1, 3, 8)), "steps/s"
elif which == "op-overhead":
    t = torch.tensor([1.0, 2.0, 3.0, 4.0], device=dev)
    values, unit = measure(lambda: t + 1, 1, 1000, 20000), "ops/s"
else:
    raise SystemExit(f"unknown case {which}")

rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"case": which, "values": values, "unit": unit, "rssMb": rss_mb, "threads": torch.get_num_threads(), "device": str(dev)}))
