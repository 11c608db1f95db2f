"""``jitgrad.init``: ``jitgrad.nn.init``'s initialisers with the book's fans: a 2-D weight is
(in, out), as the book's ``Linear.weight``, so fan_in is ``shape[0]`` (``jitgrad.nn.init``
has PyTorch's (out, in), fan_in ``shape[1]``)."""
from jitgrad.nn.init import *  # noqa: F401,F403
from jitgrad.nn.init import book_fans, fan_initialisers

xavier_uniform_, xavier_normal_, kaiming_uniform_, kaiming_normal_ = fan_initialisers(book_fans)
