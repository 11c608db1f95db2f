"""Follows pytorch/examples, time_sequence_prediction/train.py (with its generate_sine_wave.py):
two stacked nn.LSTMCell(…, 51) and an nn.Linear in float64 learn sine waves of random phase;
optim.LBFGS(lr=0.8) with a closure; the test loss is computed under torch.no_grad() while
predicting the future.

The data are made here as generate_sine_wave.py makes them (T=20), but shorter and fewer
(N=12 waves of L=40 points instead of 100 of 1000), the hidden size 51 kept, 3 LBFGS steps
instead of 15 and no plots, so that it runs in seconds. Seed from JITGRAD_CORPUS_SEED. Last
line: RESULT time_sequence_prediction=<test loss>.
"""
import os

import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

SEED = int(os.environ.get("JITGRAD_CORPUS_SEED", "0"))


def generate_sine_wave(T=20, L=40, N=12):
    rng = np.random.RandomState(2)
    x = np.empty((N, L), "int64")
    x[:] = np.array(range(L)) + rng.randint(-4 * T, 4 * T, N).reshape(N, 1)
    return np.sin(x / 1.0 / T).astype("float64")


class Sequence(nn.Module):
    def __init__(self):
        super(Sequence, self).__init__()
        self.lstm1 = nn.LSTMCell(1, 51)
        self.lstm2 = nn.LSTMCell(51, 51)
        self.linear = nn.Linear(51, 1)

    def forward(self, input, future=0):
        outputs = []
        h_t = torch.zeros(input.size(0), 51, dtype=torch.double)
        c_t = torch.zeros(input.size(0), 51, dtype=torch.double)
        h_t2 = torch.zeros(input.size(0), 51, dtype=torch.double)
        c_t2 = torch.zeros(input.size(0), 51, dtype=torch.double)

        for input_t in input.split(1, dim=1):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        for i in range(future):  # if we should predict the future
            h_t, c_t = self.lstm1(output, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        outputs = torch.cat(outputs, dim=1)
        return outputs


if __name__ == "__main__":
    np.random.seed(SEED)
    torch.manual_seed(SEED)
    data = torch.from_numpy(generate_sine_wave())
    input = data[3:, :-1]
    target = data[3:, 1:]
    test_input = data[:3, :-1]
    test_target = data[:3, 1:]
    seq = Sequence()
    seq.double()
    criterion = nn.MSELoss()
    # LBFGS, since the whole data fits in one batch
    optimizer = optim.LBFGS(seq.parameters(), lr=0.8)
    for i in range(3):
        print("STEP: ", i)

        def closure():
            optimizer.zero_grad()
            out = seq(input)
            loss = criterion(out, target)
            print("loss:", loss.item())
            loss.backward()
            return loss
        optimizer.step(closure)
        # predict; no need to track the gradient here
        with torch.no_grad():
            future = 20
            pred = seq(test_input, future=future)
            loss = criterion(pred[:, :-future], test_target)
            print("test loss:", loss.item())
            y = pred.detach().numpy()
    print(f"RESULT time_sequence_prediction={loss.item():.6g}")
