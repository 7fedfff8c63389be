"""sbsr_lab.train"""
