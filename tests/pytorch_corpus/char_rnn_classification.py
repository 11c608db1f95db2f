"""Follows pytorch/tutorials, intermediate_source/char_rnn_classification_tutorial.py
("Classifying Names with a Character-Level RNN", the version with CharRNN, NamesDataset and
random_split): names as one-hot tensors (len, 1, n_letters) by lineToTensor, a recurrent
layer whose last hidden state goes through nn.Linear and nn.LogSoftmax, nn.NLLLoss,
mini-batches of per-name losses summed, nn.utils.clip_grad_norm_, torch.optim.SGD, and an
evaluation under torch.no_grad().

The recurrent layer is nn.GRU instead of nn.RNN (the tutorial's own exercise), and its names
data are replaced by synthetic "languages" (names drawn from per-language syllable sets with
Python's random, seed 7), fewer names and epochs, so no download and seconds of run time.
Seed from JITGRAD_CORPUS_SEED. Last line: RESULT char_rnn_classification=<test accuracy>.
"""
import os
import random
import string

import torch
import torch.nn as nn
from torch.utils.data import Dataset

SEED = int(os.environ.get("JITGRAD_CORPUS_SEED", "0"))
torch.manual_seed(SEED)
random.seed(SEED)

allowed_characters = string.ascii_letters + " .,;'"
n_letters = len(allowed_characters)


def letterToIndex(letter):
    return allowed_characters.find(letter)


def lineToTensor(line):
    """A name as a <line_length x 1 x n_letters> tensor of one-hot letter vectors."""
    tensor = torch.zeros(len(line), 1, n_letters)
    for li, letter in enumerate(line):
        tensor[li][0][letterToIndex(letter)] = 1
    return tensor


SYLLABLES = {
    "Alpine": ["berg", "hof", "stein", "li", "ach", "mann"],
    "Coastal": ["ma", "ri", "no", "sa", "lu", "ta"],
    "Northern": ["sk", "vold", "ss", "en", "ir", "dt"],
    "Eastern": ["ov", "ski", "ch", "ev", "ka", "ya"],
}


class NamesDataset(Dataset):
    """(label_tensor, text_tensor, label, text) per name, as the tutorial's dataset."""

    def __init__(self, count):
        rnd = random.Random(7)
        self.labels_uniq = sorted(SYLLABLES)
        self.data, self.data_tensors, self.labels, self.labels_tensors = [], [], [], []
        for _ in range(count):
            label = rnd.choice(self.labels_uniq)
            # a tenth of each name's syllables come from another language
            name = "".join(rnd.choice(SYLLABLES[label] if rnd.random() < 0.9 else
                                      SYLLABLES[rnd.choice(self.labels_uniq)])
                           for _ in range(rnd.randint(2, 4))).capitalize()
            self.data.append(name)
            self.data_tensors.append(lineToTensor(name))
            self.labels.append(label)
        for idx in range(len(self.labels)):
            temp_tensor = torch.tensor([self.labels_uniq.index(self.labels[idx])],
                                       dtype=torch.long)
            self.labels_tensors.append(temp_tensor)

    def __len__(self):
        return len(self.data)

    def __getitem__(self, idx):
        return (self.labels_tensors[idx], self.data_tensors[idx], self.labels[idx],
                self.data[idx])


alldata = NamesDataset(600)
train_set, test_set = torch.utils.data.random_split(
    alldata, [.85, .15], generator=torch.Generator().manual_seed(2024))
print(f"train examples = {len(train_set)}, validation examples = {len(test_set)}")


class CharRNN(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super(CharRNN, self).__init__()

        self.rnn = nn.GRU(input_size, hidden_size)
        self.h2o = nn.Linear(hidden_size, output_size)
        self.softmax = nn.LogSoftmax(dim=1)

    def forward(self, line_tensor):
        rnn_out, hidden = self.rnn(line_tensor)
        output = self.h2o(hidden[0])
        output = self.softmax(output)

        return output


n_hidden = 32
rnn = CharRNN(n_letters, n_hidden, len(alldata.labels_uniq))


def train(rnn, training_data, n_epoch=4, n_batch_size=32, report_every=1,
          learning_rate=0.2, criterion=nn.NLLLoss()):
    current_loss = 0
    all_losses = []
    rnn.train()
    optimizer = torch.optim.SGD(rnn.parameters(), lr=learning_rate)

    for iter in range(1, n_epoch + 1):
        rnn.zero_grad()  # clear the gradients

        # create some minibatches; no DataLoader: the names have different lengths
        batches = list(range(len(training_data)))
        random.shuffle(batches)
        batches = [batches[i:i + n_batch_size] for i in range(0, len(batches), n_batch_size)]

        for idx, batch in enumerate(batches):
            batch_loss = 0
            for i in batch:  # one name at a time
                (label_tensor, text_tensor, label, text) = training_data[i]
                output = rnn.forward(text_tensor)
                loss = criterion(output, label_tensor)
                batch_loss += loss

            # optimize parameters
            batch_loss.backward()
            nn.utils.clip_grad_norm_(rnn.parameters(), 3)
            optimizer.step()
            optimizer.zero_grad()

            current_loss += batch_loss.item() / len(batch)

        all_losses.append(current_loss / len(batches))
        if iter % report_every == 0:
            print(f"{iter} ({iter / n_epoch:.0%}): \t average batch loss = {all_losses[-1]}")
        current_loss = 0

    return all_losses


all_losses = train(rnn, train_set)


def evaluate(rnn, testing_data, classes):
    correct = 0
    rnn.eval()
    with torch.no_grad():
        for i in range(len(testing_data)):
            (label_tensor, text_tensor, label, text) = testing_data[i]
            output = rnn(text_tensor)
            guess_i = output.topk(1)[1][0].item()
            correct += int(classes[guess_i] == label)
    return correct / len(testing_data)


accuracy = evaluate(rnn, test_set, classes=alldata.labels_uniq)
print(f"RESULT char_rnn_classification={accuracy:.4f}")
