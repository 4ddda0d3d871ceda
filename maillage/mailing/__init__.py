"""Mailing (mailing issue): iMIP invitation builders on the standard ``email`` package, mass
mailings, the durable outbox and the SMTP/file senders."""
