# The ACL engine (issue "ACL engine") adds its files here.
