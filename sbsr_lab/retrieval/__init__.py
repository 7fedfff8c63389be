"""sbsr_lab.retrieval"""
