"""Follows pytorch/examples, vae/main.py: the variational autoencoder of Kingma and Welling on
flattened 28x28 images (fc1 784-400, fc21/fc22 to a 20-d latent mean and log-variance,
reparameterize with torch.randn_like, fc3/fc4 back through torch.sigmoid), its loss
F.binary_cross_entropy(reduction="sum") plus the KL term, optim.Adam(lr=1e-3), and its
train/test functions over DataLoaders.

MNIST is replaced by synthetic images of its shape in [0, 1] (a fixed random prototype per
class, blurred by noise), fewer samples and epochs, no saved samples, so no download and
seconds of run time. Seed from JITGRAD_CORPUS_SEED. Last line: RESULT vae=<test loss per image>.
"""
import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn, optim
from torch.utils.data import DataLoader, TensorDataset

SEED = int(os.environ.get("JITGRAD_CORPUS_SEED", "0"))
torch.manual_seed(SEED)

batch_size = 128
epochs = 3
log_interval = 5


def synthetic_mnist(size, data_seed):
    rng = np.random.default_rng(data_seed)
    prototypes = (np.random.default_rng(99).random((10, 1, 28, 28)) > 0.7).astype(np.float32)
    labels = rng.integers(0, 10, size)
    noise = rng.normal(0, 0.2, (size, 1, 28, 28)).astype(np.float32)
    images = np.clip(prototypes[labels] + noise, 0, 1).astype(np.float32)
    return TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))


train_loader = DataLoader(synthetic_mnist(1024, 1), batch_size=batch_size, shuffle=True)
test_loader = DataLoader(synthetic_mnist(256, 2), batch_size=batch_size, shuffle=False)


class VAE(nn.Module):
    def __init__(self):
        super(VAE, self).__init__()

        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.randn_like(std)
        return mu + eps * std

    def decode(self, z):
        h3 = F.relu(self.fc3(z))
        return torch.sigmoid(self.fc4(h3))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar


model = VAE()
optimizer = optim.Adam(model.parameters(), lr=1e-3)


# reconstruction + KL divergence losses summed over all elements and batch
def loss_function(recon_x, x, mu, logvar):
    BCE = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    # Appendix B of the VAE paper: 0.5 * sum(1 + log(sigma^2) - mu^2 - sigma^2)
    KLD = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return BCE + KLD


def train(epoch):
    model.train()
    train_loss = 0
    for batch_idx, (data, _) in enumerate(train_loader):
        optimizer.zero_grad()
        recon_batch, mu, logvar = model(data)
        loss = loss_function(recon_batch, data, mu, logvar)
        loss.backward()
        train_loss += loss.item()
        optimizer.step()
        if batch_idx % log_interval == 0:
            print("Train Epoch: {} [{}/{} ({:.0f}%)]\tLoss: {:.6f}".format(
                epoch, batch_idx * len(data), len(train_loader.dataset),
                100. * batch_idx / len(train_loader),
                loss.item() / len(data)))

    print("====> Epoch: {} Average loss: {:.4f}".format(
        epoch, train_loss / len(train_loader.dataset)))


def test(epoch):
    model.eval()
    test_loss = 0
    with torch.no_grad():
        for i, (data, _) in enumerate(test_loader):
            recon_batch, mu, logvar = model(data)
            test_loss += loss_function(recon_batch, data, mu, logvar).item()

    test_loss /= len(test_loader.dataset)
    print("====> Test set loss: {:.4f}".format(test_loss))
    return test_loss


for epoch in range(1, epochs + 1):
    train(epoch)
    test_loss = test(epoch)
print(f"RESULT vae={test_loss:.3f}")
